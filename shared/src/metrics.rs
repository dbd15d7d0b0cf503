//! CloudWatch metrics as Embedded Metric Format lines on stdout: CloudWatch Logs turns
//! them into metrics without an API call from the function.

use serde_json::{Map, Value, json};

/// Emits `name = value` (Count) with the given dimensions.
pub fn count(name: &str, dimensions: &[(&str, &str)]) {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "BlueHarvest".into());
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": crate::auth::unix_now() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        }),
    );
    for (key, value) in dimensions {
        line.insert((*key).into(), Value::from(*value));
    }
    line.insert(name.into(), Value::from(1));
    println!("{}", Value::Object(line));
}
