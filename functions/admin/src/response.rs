//! What the admin routes answer, and the OpenAPI schemas of it (derived, so the
//! document cannot drift from the code: tests/src/bin/openapi.rs). Where a row is
//! answered as read, the row type is the response type.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditEvent)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(rename = "type")]
    #[sqlx(rename = "event_type")]
    pub event_type: String,
    pub severity: String,
    #[schema(required)]
    pub account_id: Option<i64>,
    #[schema(required)]
    pub ip: Option<String>,
    #[schema(required)]
    pub user_agent: Option<String>,
    #[schema(required)]
    pub request_id: Option<String>,
    /// What the event type records (JSON, by event type).
    #[schema(value_type = Object)]
    pub details: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A client address blocked for brute force, and until when.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockedIp {
    pub ip: String,
    #[serde(with = "time::serde::rfc3339")]
    pub blocked_until: OffsetDateTime,
    /// Which block of the ladder this is (longer each time).
    pub offence: u32,
}

/// One run of partition maintenance.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PartitionRun {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub ran_at: OffsetDateTime,
    /// Why the run did nothing (another run held the lock), or null.
    #[schema(required)]
    pub skipped: Option<String>,
    /// Partitions created, detached and dropped, by name.
    pub created: Vec<String>,
    pub detached: Vec<String>,
    pub dropped: Vec<String>,
    pub rows_moved: i64,
    /// Rows left in the default partitions, by table.
    #[schema(value_type = Object)]
    pub rows_in_default: Value,
    pub duration_ms: i64,
}

/// A system setting.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Setting {
    pub key: String,
    /// Any JSON value.
    #[schema(value_type = Value)]
    pub value: Value,
    /// The admin who set it last (null for a seeded value).
    #[schema(required)]
    pub updated_by: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
