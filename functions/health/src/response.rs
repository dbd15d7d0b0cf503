//! What `GET /api/health` answers, and its OpenAPI schema (derived, so the document
//! cannot drift from the code: tests/src/bin/openapi.rs). An unhealthy service
//! answers the same object as the 503's `details`.

use std::collections::BTreeMap;

use serde::Serialize;
use shared::db::ReadShares;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::checks::{Check, Overall};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Health {
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The build's package version.
    pub version: &'static str,
    /// Since this instance started.
    pub uptime_ms: u64,
    /// This request started the instance.
    pub cold_start: bool,
    pub status: Overall,
    /// Each dependency checked (`?type=ready`: the writer alone; `?type=live`: none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, Check>,
    /// This instance's circuit breaker per dependency (full check only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub circuit_breakers: Option<BTreeMap<&'static str, &'static str>>,
    /// This instance's reads since it started, by who served them (full check only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reads: Option<ReadShares>,
}
