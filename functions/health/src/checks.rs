//! One check per dependency, each bounded by the health timeout and run concurrently.
//! A check's message is generic on purpose: the real error goes to the log, never to
//! the (anonymous) caller.

use std::{collections::BTreeMap, future::Future, time::Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use shared::{
    AppState,
    resilience::{BreakerState, CircuitBreaker},
};
use utoipa::ToSchema;

/// One dependency's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HealthCheckStatus)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = HealthCheck)]
pub struct Check {
    pub status: Status,
    pub response_time_ms: f64,
    /// What failed or warns (never the underlying error's text).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<&'static str>,
    /// The replica's lag, as the writer measures it (the reader's check).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub replication_lag_seconds: Option<f64>,
}

/// The service as a whole: unhealthy without the writer (answered 503), degraded
/// when anything else fails, warns, or has its circuit breaker open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HealthStatus)]
pub enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

/// Without the writer nothing can change state: unhealthy. Anything else failing or
/// warning (replica down or lagging, DynamoDB, secrets) leaves the API partly working.
pub fn overall(writer: &Check, others: &[&Check]) -> Overall {
    if writer.status == Status::Fail {
        Overall::Unhealthy
    } else if writer.status != Status::Pass || others.iter().any(|c| c.status != Status::Pass) {
        Overall::Degraded
    } else {
        Overall::Healthy
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub writer: Check,
    pub reader: Check,
    pub dynamodb: Check,
    pub secrets: Check,
}

impl Report {
    pub fn overall(&self) -> Overall {
        overall(&self.writer, &[&self.reader, &self.dynamodb, &self.secrets])
    }

    /// The checks by dependency name, as answered.
    pub fn named(self) -> BTreeMap<&'static str, Check> {
        BTreeMap::from([
            ("writer", self.writer),
            ("reader", self.reader),
            ("dynamodb", self.dynamodb),
            ("secrets", self.secrets),
        ])
    }
}

/// This instance's breaker per dependency ("closed", "open", "half-open"). A breaker
/// that is not closed makes a healthy answer degraded: calls are being refused.
pub fn breakers(
    state: &AppState,
    overall: Overall,
) -> (BTreeMap<&'static str, &'static str>, Overall) {
    let states = state.breakers.states();
    let report = states
        .iter()
        .map(|(name, breaker)| (*name, breaker.as_str()))
        .collect();
    let tripped = states
        .iter()
        .any(|(_, breaker)| *breaker != BreakerState::Closed);
    let overall = match overall {
        Overall::Healthy if tripped => Overall::Degraded,
        other => other,
    };
    (report, overall)
}

pub async fn all(state: &AppState) -> Report {
    let (writer, reader, dynamodb, secrets) = tokio::join!(
        writer(state),
        reader(state),
        dynamodb(state),
        secrets(state)
    );
    Report {
        writer,
        reader,
        dynamodb,
        secrets,
    }
}

/// Runs one probe under the health timeout; `Err` carries the generic message.
async fn timed<T, E: std::fmt::Display>(
    state: &AppState,
    name: &str,
    probe: impl Future<Output = Result<T, E>>,
) -> (Result<T, &'static str>, f64) {
    let started = Instant::now();
    let result = match tokio::time::timeout(state.config.health.check_timeout, probe).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!(check = name, error = %error, "health check failed");
            Err("unreachable")
        }
        Err(_) => {
            tracing::warn!(check = name, "health check timed out");
            Err("timed out")
        }
    };
    let ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    (result, ms)
}

fn check(status: Status, response_time_ms: f64, message: Option<&'static str>) -> Check {
    Check {
        status,
        response_time_ms,
        message,
        replication_lag_seconds: None,
    }
}

fn pass_or_fail<T>((result, ms): (Result<T, &'static str>, f64)) -> Check {
    match result {
        Ok(_) => check(Status::Pass, ms, None),
        Err(message) => check(Status::Fail, ms, Some(message)),
    }
}

/// A probe's outcome also feeds the dependency's breaker.
fn observed<T>(
    breaker: &CircuitBreaker,
    probe: (Result<T, &'static str>, f64),
) -> (Result<T, &'static str>, f64) {
    breaker.observe(probe.0.is_ok());
    probe
}

pub async fn writer(state: &AppState) -> Check {
    let probe = timed(state, "writer", state.db.ping_writer());
    pass_or_fail(observed(&state.breakers.writer, probe.await))
}

/// A failing or lagging replica also diverts this instance's reads to the writer.
pub async fn reader(state: &AppState) -> Check {
    let probe = timed(state, "reader", state.db.replica_status());
    let (result, ms) = observed(&state.breakers.reader, probe.await);
    match result {
        Ok(status) => {
            let lagging = status.lag > state.db.max_lag();
            if lagging {
                state.db.mark_reader_unavailable();
            }
            Check {
                status: if lagging { Status::Warn } else { Status::Pass },
                response_time_ms: ms,
                message: lagging.then_some("replica lag above the limit; reads use the writer"),
                replication_lag_seconds: Some((status.lag.as_secs_f64() * 1000.0).round() / 1000.0),
            }
        }
        Err(message) => {
            state.db.mark_reader_unavailable();
            check(Status::Fail, ms, Some(message))
        }
    }
}

/// A data-plane read (not DescribeTable, whose control-plane quota is small).
pub async fn dynamodb(state: &AppState) -> Check {
    let probe = state
        .dynamodb
        .get_item()
        .table_name(&state.config.tables.rate_limits)
        .key("pk", AttributeValue::S("health#probe".into()))
        .send();
    pass_or_fail(observed(
        &state.breakers.dynamodb,
        timed(state, "dynamodb", async {
            probe
                .await
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
        })
        .await,
    ))
}

/// Passes when this instance holds valid keys (fetched within the cache TTL). The
/// fetch itself goes through the secrets breaker, so nothing is fed to it here.
pub async fn secrets(state: &AppState) -> Check {
    pass_or_fail(
        timed(state, "secrets", async {
            state.secrets.app_keys().await?;
            state.secrets.signing_keys().await
        })
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(status: Status) -> Check {
        check(status, 1.0, None)
    }

    #[test]
    fn writer_failure_is_unhealthy_whatever_else() {
        let pass = with(Status::Pass);
        assert_eq!(overall(&with(Status::Fail), &[&pass]), Overall::Unhealthy);
    }

    #[test]
    fn replica_trouble_is_degraded() {
        let writer = with(Status::Pass);
        assert_eq!(overall(&writer, &[&with(Status::Fail)]), Overall::Degraded);
        assert_eq!(overall(&writer, &[&with(Status::Warn)]), Overall::Degraded);
        assert_eq!(overall(&writer, &[&with(Status::Pass)]), Overall::Healthy);
    }
}
