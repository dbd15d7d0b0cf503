//! What the admin routes answer, and the OpenAPI schemas of it (derived, so the
//! document cannot drift from the code: tests/src/bin/openapi.rs). Where a row is
//! answered as read, the row type is the response type.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use shared::{config::SettingInForce, db::ReadShares, partitions::Summary};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditEvent)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(rename = "type")]
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

/// One recorded run of partition maintenance: when, and what it did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionRun {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub ran_at: OffsetDateTime,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A system setting.
#[derive(Debug, Serialize, ToSchema)]
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

/// `GET /api/admin/system/config`: the settings this function runs with (every
/// function gets the same environment from the template's Globals).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// The function that answered.
    pub function: String,
    /// Every setting, sorted by name; secrets never shown, URLs without passwords.
    pub settings: Vec<SettingInForce>,
}

/// `GET /api/admin/migrations`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migrations {
    pub applied: Vec<AppliedMigration>,
    /// Embedded in this build, not applied yet.
    pub pending: Vec<PendingMigration>,
    /// Nothing pending, failed or changed since applied.
    pub up_to_date: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub installed_on: OffsetDateTime,
    pub success: bool,
    pub execution_time_ms: f64,
    /// SHA-384 of the file as applied, hex.
    pub checksum: String,
    /// Whether the file embedded in this build is the one applied (null: a migration
    /// this build does not know).
    #[schema(required)]
    pub checksum_matches: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
    /// SHA-384 of the embedded file, hex.
    pub checksum: String,
}

/// `GET /api/admin/database/stats`: what this instance sees of PostgreSQL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseStats {
    pub writer: PoolStats,
    pub reader: PoolStats,
    /// As the writer measures it; null when the replica could not be asked.
    #[schema(required)]
    pub replication_lag_seconds: Option<f64>,
    /// Where this instance's reads went since it started: what read-your-writes costs.
    pub reads: ReadShares,
    /// The planner's row estimate per table (a partitioned table's is its partitions').
    pub row_estimates: BTreeMap<String, f64>,
    /// Each partitioned table's partitions.
    pub partitions: BTreeMap<String, Vec<PartitionBound>>,
}

/// One pool of this instance, and whether it answered `SELECT 1`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolStats {
    pub reachable: bool,
    pub response_time_ms: f64,
    pub size: u32,
    pub idle: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionBound {
    pub name: String,
    /// The partition bound, as PostgreSQL prints it.
    pub range: String,
}

/// `GET /api/admin/security/stats`: audit events over a window.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityStats {
    /// The window asked for, in its largest whole unit (`48h` as `2d`).
    pub window: String,
    pub total: i64,
    pub by_type: BTreeMap<String, i64>,
    pub by_severity: BTreeMap<String, i64>,
}
