//! The health handler: which checks a probe runs, and the answer they make.

use std::{collections::BTreeMap, sync::Arc};

use axum::{Extension, Json, extract::State};
use serde::Deserialize;
use shared::{
    ApiError, AppState, http::context::RequestContext, http::extract::ApiQuery, openapi::Errors,
};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::{
    checks::{self, Overall},
    response::Health,
};

/// `live` touches nothing; `ready` checks the writer only; `full` (the default)
/// checks everything.
#[derive(Debug, Default, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HealthProbe)]
pub enum Probe {
    Live,
    Ready,
    #[default]
    Full,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    #[serde(rename = "type", default)]
    probe: Probe,
}

/// How long a client should wait before asking an unhealthy service again.
const RETRY_AFTER_SECONDS: u64 = 5;

/// `GET /api/health`: 503 (the same object as the error's `details`) when unhealthy.
#[utoipa::path(get, path = "/api/health", tag = "health", operation_id = "getHealth",
    summary = "Health of the service and its dependencies",
    security(()),
    params(HealthQuery),
    responses((status = 200, description = "Healthy or degraded", body = Health), Errors))]
pub async fn health(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    ApiQuery(query): ApiQuery<HealthQuery>,
) -> Result<Json<Health>, ApiError> {
    let mut body = Health {
        timestamp: OffsetDateTime::now_utc(),
        version: env!("CARGO_PKG_VERSION"),
        uptime_ms: u64::try_from(state.started_at.elapsed().as_millis()).unwrap_or(u64::MAX),
        cold_start: context.cold_start,
        status: Overall::Healthy,
        checks: BTreeMap::new(),
        circuit_breakers: None,
        reads: None,
    };
    body.status = match query.probe {
        Probe::Live => Overall::Healthy,
        Probe::Ready => {
            let writer = checks::writer(&state).await;
            let overall = checks::overall(&writer, &[]);
            body.checks.insert("writer", writer);
            overall
        }
        Probe::Full => {
            let report = checks::all(&state).await;
            let (breakers, overall) = checks::breakers(&state, report.overall());
            body.checks = report.named();
            body.circuit_breakers = Some(breakers);
            // This instance's reads since it started: replica, or writer and why.
            body.reads = Some(state.db.read_shares());
            overall
        }
    };
    if body.status == Overall::Unhealthy {
        return Err(ApiError::ServiceUnavailable {
            message: "The service is unhealthy: the writer database is unreachable".into(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
            details: Some(serde_json::to_value(&body).map_err(ApiError::internal)?),
        });
    }
    Ok(Json(body))
}
