//! CloudWatch metrics as Embedded Metric Format lines on stdout: CloudWatch Logs turns
//! them into metrics without an API call from the function. The namespace comes from
//! `METRICS_NAMESPACE` (default `BlueHarvest`). The catalogue is in
//! `docs/observability.md`.
//!
//! Dimension values must come from small fixed sets (route templates, status codes,
//! outcomes), never from request data: every distinct combination is a metric
//! CloudWatch bills and keeps.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

static NAMESPACE: LazyLock<String> =
    LazyLock::new(|| std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "BlueHarvest".into()));

/// Under a Lambda runtime (or `cargo lambda watch`) CloudWatch reads stdout; the CLI
/// tools keep stdout for their own output.
static TO_STDOUT: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some());

static FUNCTION: LazyLock<String> =
    LazyLock::new(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()));

/// This function's name (`AWS_LAMBDA_FUNCTION_NAME`; `local` outside Lambda and
/// `cargo lambda watch`), for a `Function` dimension.
pub fn function_name() -> &'static str {
    &FUNCTION
}

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

/// One EMF line: the metric, its unit and its dimensions.
pub fn emit(name: &str, unit: Unit, value: f64, dimensions: &[(&str, &str)]) {
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    emit_many(&[(name, unit, value)], &[&names], dimensions);
}

/// Several metrics in one line, sharing its dimension values. Each dimension set is
/// an aggregation CloudWatch keeps apart (e.g. by route and status, and by function
/// alone), so one line can feed both without a second line per request. On stdout
/// under a Lambda runtime (CloudWatch reads it there); on stderr elsewhere (the CLI
/// tools), so it never mixes with a command's output.
pub fn emit_many(
    metrics: &[(&str, Unit, f64)],
    dimension_sets: &[&[&str]],
    dimensions: &[(&str, &str)],
) {
    let line = line(metrics, dimension_sets, dimensions);
    if *TO_STDOUT {
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
}

fn line(
    metrics: &[(&str, Unit, f64)],
    dimension_sets: &[&[&str]],
    dimensions: &[(&str, &str)],
) -> Value {
    let declared: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": crate::auth::unix_now() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE.as_str(),
                "Dimensions": dimension_sets,
                "Metrics": declared,
            }],
        }),
    );
    for (key, value) in dimensions {
        line.insert((*key).into(), Value::from(*value));
    }
    for (name, _, value) in metrics {
        line.insert((*name).into(), Value::from(*value));
    }
    Value::Object(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_its_metric_and_dimensions() {
        let line = line(
            &[("Latency", Unit::Milliseconds, 12.5)],
            &[&["Route", "Status"]],
            &[("Route", "/api/posts"), ("Status", "200")],
        );
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Metrics"][0]["Name"], "Latency");
        assert_eq!(declared["Metrics"][0]["Unit"], "Milliseconds");
        assert_eq!(declared["Dimensions"][0], json!(["Route", "Status"]));
        assert_eq!(line["Route"], "/api/posts");
        assert_eq!(line["Latency"], 12.5);
    }

    #[test]
    fn one_line_can_carry_several_metrics_and_dimension_sets() {
        let line = line(
            &[
                ("Requests", Unit::Count, 1.0),
                ("Latency", Unit::Milliseconds, 3.0),
            ],
            &[&["Route", "Status"], &["Function"]],
            &[
                ("Route", "/api/posts/{id}"),
                ("Status", "404"),
                ("Function", "posts"),
            ],
        );
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            declared["Dimensions"],
            json!([["Route", "Status"], ["Function"]])
        );
        assert_eq!(
            declared["Metrics"][1],
            json!({"Name": "Latency", "Unit": "Milliseconds"})
        );
        assert_eq!(line["Requests"], 1.0);
        assert_eq!(line["Latency"], 3.0);
        assert_eq!(line["Function"], "posts");
    }
}
