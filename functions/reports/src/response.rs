//! What the reports routes answer, and its OpenAPI schema (derived, so the document
//! cannot drift from the code: tests/src/bin/openapi.rs). A report is answered as its
//! row is read, so the row type is the response type.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::request::{Reason, Status, TargetType};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    pub id: i64,
    pub reporter_id: i64,
    pub target_type: TargetType,
    pub target_id: i64,
    pub reason: Reason,
    #[schema(required)]
    pub details: Option<String>,
    pub status: Status,
    #[schema(required)]
    pub resolution_note: Option<String>,
    /// The moderator who closed the report.
    #[schema(required)]
    pub resolved_by: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
