//! Post request bodies, parsed into validated, sanitized values (every field's error
//! reported at once).

use serde::Deserialize;
use shared::{
    ApiError,
    domain::{
        ValidationErrors,
        content::{EventDate, SafeHtml, Title},
    },
};

use utoipa::ToSchema;

use crate::response::PostContent;

/// The `event` post type: its content needs an `eventDate`.
pub const EVENT_TYPE: i64 = 4;
/// Co-authors beside the primary author.
pub const MAX_CO_AUTHORS: usize = 10;

// The schema's limits are the ones `Title` and `SafeHtml::post_body` enforce.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentInput {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// HTML, sanitized to the allow-list.
    #[schema(min_length = 10, max_length = 50000)]
    body: String,
    /// Required for events (`postTypeId` 4): an ISO 8601 date or date-time with offset.
    event_date: Option<String>,
}

/// A new post, by one of the caller's profiles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePost {
    content: ContentInput,
    post_type_id: i64,
    /// The primary author: one of the caller's profiles.
    profile_id: i64,
    /// More of the caller's own profiles (another account's, or an unknown id, is a 403
    /// audited as PERMISSION_DENIED).
    #[serde(default)]
    #[schema(max_items = 10)]
    co_authors: Vec<i64>,
}

/// A PATCH's content fields; what is absent is kept.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentPatch {
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    #[schema(min_length = 10, max_length = 50000)]
    body: Option<String>,
    event_date: Option<String>,
}

/// A change to a post: any of the content fields, and the type; what is absent is kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePost {
    #[serde(default)]
    content: ContentPatch,
    post_type_id: Option<i64>,
}

/// Post content as stored: `{title, body, eventDate?}`, body sanitized.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub title: Title,
    pub body: SafeHtml,
    pub event_date: Option<EventDate>,
}

impl Content {
    /// As stored in `posts.content`, which is also how it is answered.
    pub fn stored(&self) -> PostContent {
        PostContent {
            title: self.title.as_str().to_owned(),
            body: self.body.as_str().to_owned(),
            event_date: self.event_date.as_ref().map(|d| d.as_str().to_owned()),
        }
    }
}

#[derive(Debug)]
pub struct NewPost {
    pub content: Content,
    pub post_type_id: i16,
    pub profile_id: i64,
    pub co_authors: Vec<i64>,
}

fn post_type(errors: &mut ValidationErrors, raw: i64) -> Option<i16> {
    errors.check(
        "postTypeId",
        i16::try_from(raw)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| "postTypeId must be a positive integer".to_owned()),
    )
}

fn content(
    errors: &mut ValidationErrors,
    title: &str,
    body: &str,
    event_date: Option<&str>,
    post_type_id: Option<i16>,
) -> Option<Content> {
    let title = errors.check("content.title", Title::parse(title));
    let body = errors.check("content.body", SafeHtml::post_body(body));
    let event_date = match event_date {
        Some(raw) => errors
            .check("content.eventDate", EventDate::parse(raw))
            .map(Some),
        None if post_type_id.map(i64::from) == Some(EVENT_TYPE) => errors.check(
            "content.eventDate",
            Err("eventDate is required for event posts".into()),
        ),
        None => Some(None),
    };
    Some(Content {
        title: title?,
        body: body?,
        event_date: event_date?,
    })
}

impl CreatePost {
    pub fn parse(self) -> Result<NewPost, ApiError> {
        let mut errors = ValidationErrors::default();
        let post_type_id = post_type(&mut errors, self.post_type_id);
        let c = &self.content;
        let content = content(
            &mut errors,
            &c.title,
            &c.body,
            c.event_date.as_deref(),
            post_type_id,
        );
        let mut co_authors = self.co_authors;
        co_authors.sort_unstable();
        co_authors.dedup();
        co_authors.retain(|id| *id != self.profile_id);
        if co_authors.len() > MAX_CO_AUTHORS {
            errors.add("coAuthors", format!("at most {MAX_CO_AUTHORS} co-authors"));
        }
        match (content, post_type_id) {
            (Some(content), Some(post_type_id)) if errors.is_empty() => Ok(NewPost {
                content,
                post_type_id,
                profile_id: self.profile_id,
                co_authors,
            }),
            _ => Err(errors.into()),
        }
    }
}

impl UpdatePost {
    /// The post's new content and type, from its current ones and this patch.
    /// Borrowed: a write transaction may run it again (`Db::write`).
    pub fn apply(
        &self,
        current: &PostContent,
        current_type: i16,
    ) -> Result<(Content, i16), ApiError> {
        let mut errors = ValidationErrors::default();
        let post_type_id = match self.post_type_id {
            Some(raw) => post_type(&mut errors, raw),
            None => Some(current_type),
        };
        let patch = &self.content;
        let title = patch.title.as_ref().unwrap_or(&current.title);
        let body = patch.body.as_ref().unwrap_or(&current.body);
        let event_date = patch.event_date.as_ref().or(current.event_date.as_ref());
        let content = content(
            &mut errors,
            title,
            body,
            event_date.map(String::as_str),
            post_type_id,
        );
        match (content, post_type_id) {
            (Some(content), Some(post_type_id)) if errors.is_empty() => Ok((content, post_type_id)),
            _ => Err(errors.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn create(body: Value) -> Result<NewPost, ApiError> {
        serde_json::from_value::<CreatePost>(body)
            .map_err(|e| ApiError::validation(e.to_string()))?
            .parse()
    }

    #[test]
    fn events_need_a_date() {
        let post = |date: Option<&str>| {
            let mut content = json!({"title": "Party", "body": "At the park, all day"});
            if let Some(d) = date {
                content["eventDate"] = json!(d);
            }
            create(json!({"content": content, "postTypeId": 4, "profileId": 1}))
        };
        assert!(post(None).is_err());
        assert!(post(Some("2026-12-31")).is_ok());
    }

    #[test]
    fn co_authors_are_deduplicated_and_capped() {
        let post = |co: Vec<i64>| {
            create(
                json!({"content": {"title": "t", "body": "long enough body"}, "postTypeId": 1, "profileId": 1, "coAuthors": co}),
            )
        };
        assert_eq!(
            post(vec![1, 2, 2, 3]).map(|p| p.co_authors).ok(),
            Some(vec![2, 3])
        );
        assert!(post((2..=12).collect()).is_err());
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let error = create(
            json!({"content": {"title": "", "body": "short"}, "postTypeId": 0, "profileId": 1}),
        );
        let Err(ApiError::Validation {
            details: Some(details),
            ..
        }) = error
        else {
            panic!("expected a validation error, got {error:?}");
        };
        let paths: Vec<&str> = details["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert_eq!(paths, ["postTypeId", "content.title", "content.body"]);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let current = PostContent {
            title: "Old".into(),
            body: "<p>old body text</p>".into(),
            event_date: None,
        };
        let patch: UpdatePost = match serde_json::from_value(json!({"content": {"title": "New"}})) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let (content, kind) = match patch.apply(&current, 1) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            (content.title.as_str(), content.body.as_str(), kind),
            ("New", "<p>old body text</p>", 1)
        );
    }
}
