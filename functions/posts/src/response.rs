//! What the posts routes answer, and the OpenAPI schemas of it (derived, so the
//! document cannot drift from the code: tests/src/bin/openapi.rs).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::store::PostRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Post {
    pub id: i64,
    pub account_id: i64,
    pub post_type_id: i16,
    pub content: PostContent,
    /// The primary author first.
    pub authors: Vec<Author>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

// Stored as it is answered (`posts.content`, jsonb), so it deserializes too.
/// A post's content.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostContent {
    pub title: String,
    /// Sanitized HTML.
    pub body: String,
    /// Events only (`postTypeId` 4): an ISO 8601 date or date-time, as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub event_date: Option<String>,
}

// Built by the post's statement (`json_build_object`), so it deserializes too.
/// One of the post's author profiles.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Author {
    pub profile_id: i64,
    pub name: String,
    pub is_primary: bool,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Self {
        Self {
            id: row.id,
            account_id: row.account_id,
            post_type_id: row.post_type_id,
            content: row.content.0,
            authors: row.authors.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
