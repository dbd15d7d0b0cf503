//! What the comments routes answer, and its OpenAPI schema (derived, so the document
//! cannot drift from the code: tests/src/bin/openapi.rs). A comment is answered as
//! its row is read, so the row type is the response type.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub account_id: i64,
    /// Sanitized HTML.
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
