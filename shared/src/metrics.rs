//! CloudWatch metrics as Embedded Metric Format lines on stdout: CloudWatch Logs turns
//! them into metrics without an API call from the function. The namespace comes from
//! `METRICS_NAMESPACE` (default `BlueHarvest`).

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// Emits `name = 1` (Count) with the given dimensions.
pub fn count(name: &str, dimensions: &[(&str, &str)]) {
    emit(name, Unit::Count, 1.0, dimensions);
}

/// Emits a duration in milliseconds with the given dimensions.
pub fn milliseconds(name: &str, value_ms: f64, dimensions: &[(&str, &str)]) {
    emit(name, Unit::Milliseconds, value_ms, dimensions);
}

/// One EMF line: the metric, its unit and its dimensions. On stdout under a Lambda
/// runtime (CloudWatch reads it there); on stderr elsewhere (the CLI tools), so it
/// never mixes with a command's output.
pub fn emit(name: &str, unit: Unit, value: f64, dimensions: &[(&str, &str)]) {
    let line = line(name, unit, value, dimensions);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
}

fn line(name: &str, unit: Unit, value: f64, dimensions: &[(&str, &str)]) -> Value {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "BlueHarvest".into());
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": crate::auth::unix_now() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": [{"Name": name, "Unit": unit.as_str()}],
            }],
        }),
    );
    for (key, value) in dimensions {
        line.insert((*key).into(), Value::from(*value));
    }
    line.insert(name.into(), Value::from(value));
    Value::Object(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_its_metric_and_dimensions() {
        let line = line(
            "Latency",
            Unit::Milliseconds,
            12.5,
            &[("Route", "/api/posts"), ("Status", "200")],
        );
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Metrics"][0]["Name"], "Latency");
        assert_eq!(declared["Metrics"][0]["Unit"], "Milliseconds");
        assert_eq!(declared["Dimensions"][0], json!(["Route", "Status"]));
        assert_eq!(line["Route"], "/api/posts");
        assert_eq!(line["Latency"], 12.5);
    }
}
