//! Comment request bodies and the list query, parsed into sanitized values.

use serde::Deserialize;
use shared::{
    ApiError,
    domain::{ValidationErrors, content::SafeHtml},
};
use utoipa::{IntoParams, ToSchema};

/// `POST /api/posts/{id}/comments` and `PATCH /api/comments/{id}`: the body is the
/// only thing a client writes (the post and the author come from the path and token).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentInput {
    /// HTML, sanitized to the allow-list.
    #[schema(min_length = 1, max_length = 10000)]
    body: String,
}

impl CommentInput {
    /// The body sanitized to the allow-list, 1–10000 characters as typed.
    pub fn parse(self) -> Result<SafeHtml, ApiError> {
        let mut errors = ValidationErrors::default();
        match errors.check("body", SafeHtml::comment_body(&self.body)) {
            Some(body) => Ok(body),
            None => Err(errors.into()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(body: Value) -> Result<SafeHtml, ApiError> {
        serde_json::from_value::<CommentInput>(body)
            .map_err(|e| ApiError::validation(e.to_string()))?
            .parse()
    }

    #[test]
    fn bodies_are_sanitized() {
        let body = parse(
            json!({"body": r#"<p>hi<script>alert(1)</script><a href="javascript:x()">l</a></p>"#}),
        );
        assert_eq!(
            body.ok().map(|b| b.as_str().to_owned()).as_deref(),
            Some(r#"<p>hi<a rel="noopener noreferrer">l</a></p>"#)
        );
    }

    #[test]
    fn lengths_are_checked_on_the_body_field() {
        for bad in [String::new(), "   ".into(), "x".repeat(10_001)] {
            match parse(json!({ "body": bad })) {
                Err(error) => assert_eq!(error.field_paths(), ["body"]),
                Ok(body) => panic!("accepted {body:?}"),
            }
        }
        assert!(parse(json!({"body": "x".repeat(10_000)})).is_ok());
        assert!(parse(json!({"body": "<script>only a script</script>"})).is_err());
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        assert!(parse(json!({"body": "hi", "accountId": 1})).is_err());
        assert!(parse(json!({})).is_err());
        assert!(parse(json!({"body": 5})).is_err());
    }
}
