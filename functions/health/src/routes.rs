//! Routes of the health function.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/health` | every dependency checked; 200 healthy/degraded, 503 unhealthy |
//! | `GET /api/health?type=live` | 200 without touching any dependency |
//! | `GET /api/health?type=ready` | 200 when the writer answers, else 503 |

use std::sync::Arc;

use axum::{Extension, Json, Router, extract::State, routing::get};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState, http::context::RequestContext, http::extract::ApiQuery, ratelimit::limited,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::checks::{self, Overall};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/health", limited(get(health), &state, &[]))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Probe {
    Live,
    Ready,
    #[default]
    Full,
}

#[derive(Debug, Deserialize)]
struct HealthQuery {
    #[serde(rename = "type", default)]
    probe: Probe,
}

/// How long a client should wait before asking an unhealthy service again.
const RETRY_AFTER_SECONDS: u64 = 5;

async fn health(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    ApiQuery(query): ApiQuery<HealthQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut body = json!({
        "timestamp": OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeMs": u64::try_from(state.started_at.elapsed().as_millis()).unwrap_or(u64::MAX),
        "coldStart": context.cold_start,
    });
    let overall = match query.probe {
        Probe::Live => Overall::Healthy,
        Probe::Ready => {
            let writer = checks::writer(&state).await;
            let overall = checks::overall(&writer, &[]);
            body["checks"] = json!({ "writer": writer });
            overall
        }
        Probe::Full => {
            let report = checks::all(&state).await;
            let (breakers, overall) = checks::breakers(&state, report.overall());
            body["checks"] = serde_json::to_value(&report).unwrap_or_default();
            body["circuitBreakers"] = breakers;
            // This instance's reads since it started: replica, or writer and why.
            body["reads"] = json!(state.db.read_shares());
            overall
        }
    };
    body["status"] = json!(overall.as_str());
    if overall == Overall::Unhealthy {
        return Err(ApiError::ServiceUnavailable {
            message: "The service is unhealthy: the writer database is unreachable".into(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
            details: Some(body),
        });
    }
    Ok(Json(body))
}
