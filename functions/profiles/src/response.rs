//! What the profiles routes answer, and its OpenAPI schema (derived, so the document
//! cannot drift from the code: tests/src/bin/openapi.rs). A profile is answered as
//! its row is read, so the row type is the response type.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// Free-form details, as the owner wrote them.
    #[schema(value_type = Object)]
    pub details: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
