//! User-written content: post titles and bodies, comment bodies, profile names and
//! details, report details. Bodies are HTML and are sanitized to the seed's allow-list
//! before anything else sees them; lengths count characters as the user typed them.

use std::{
    collections::{HashMap, HashSet},
    ops::RangeInclusive,
    sync::LazyLock,
};

use serde_json::Value;
use time::{Date, OffsetDateTime, format_description::well_known::Iso8601};

/// The allow-list: formatting tags only; links keep href, title and target and always
/// get `rel="noopener noreferrer"` (ammonia sets it, so a client's own rel is dropped).
/// Scripts, styles, iframes, objects, embeds, data-* and on* attributes never pass.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(HashSet::from([
            "p",
            "br",
            "strong",
            "em",
            "u",
            "h1",
            "h2",
            "h3",
            "ul",
            "ol",
            "li",
            "a",
            "blockquote",
            "code",
            "pre",
        ]))
        .tag_attributes(HashMap::from([(
            "a",
            HashSet::from(["href", "title", "target"]),
        )]))
        .generic_attributes(HashSet::new())
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer"));
    builder
});

pub fn sanitize_html(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// The characters each text accepts. The OpenAPI document states the same bounds on
/// the request fields (`#[schema(min_length, max_length)]` takes only literals), and
/// tests/src/bin/openapi.rs checks the two agree.
pub const TITLE_CHARS: RangeInclusive<usize> = 1..=200;
pub const POST_BODY_CHARS: RangeInclusive<usize> = 10..=50_000;
pub const COMMENT_BODY_CHARS: RangeInclusive<usize> = 1..=10_000;
pub const PROFILE_NAME_CHARS: RangeInclusive<usize> = 1..=100;
pub const NOTE_CHARS: RangeInclusive<usize> = 0..=2_000;

/// Checks a character count is within `chars`.
fn length(text: &str, chars: &RangeInclusive<usize>, what: &str) -> Result<(), String> {
    let (min, max) = (*chars.start(), *chars.end());
    let n = text.chars().count();
    if n < min {
        Err(format!("{what} must be at least {min} characters"))
    } else if n > max {
        Err(format!("{what} must be at most {max} characters"))
    } else {
        Ok(())
    }
}

/// A post title: [`TITLE_CHARS`] characters of plain text (clients escape it like any text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        length(trimmed, &TITLE_CHARS, "title")?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Sanitized HTML whose input had `min..=max` characters and keeps some content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn parse(raw: &str, chars: &RangeInclusive<usize>, what: &str) -> Result<Self, String> {
        length(raw.trim(), chars, what)?;
        let clean = sanitize_html(raw);
        if clean.trim().is_empty() {
            return Err(format!("{what} has no allowed content"));
        }
        Ok(Self(clean))
    }

    /// A post body: [`POST_BODY_CHARS`] characters.
    pub fn post_body(raw: &str) -> Result<Self, String> {
        Self::parse(raw, &POST_BODY_CHARS, "body")
    }

    /// A comment body: [`COMMENT_BODY_CHARS`] characters.
    pub fn comment_body(raw: &str) -> Result<Self, String> {
        Self::parse(raw, &COMMENT_BODY_CHARS, "body")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event's date: ISO 8601, a date (`2026-12-31`) or a date-time with offset.
/// Kept as the client wrote it once it parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDate(String);

impl EventDate {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = OffsetDateTime::parse(raw, &Iso8601::DEFAULT).is_ok()
            || Date::parse(raw, &Iso8601::DEFAULT).is_ok();
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err("eventDate must be an ISO 8601 date or date-time with offset".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A profile name: [`PROFILE_NAME_CHARS`] characters of plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileName(String);

impl ProfileName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        length(trimmed, &PROFILE_NAME_CHARS, "name")?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Profile details: a JSON object of at most 16 KiB when serialized.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDetails(Value);

impl ProfileDetails {
    pub const MAX_BYTES: usize = 16 * 1024;

    pub fn parse(raw: Value) -> Result<Self, String> {
        if !raw.is_object() {
            return Err("details must be a JSON object".into());
        }
        if raw.to_string().len() > Self::MAX_BYTES {
            return Err("details must be at most 16 KiB".into());
        }
        Ok(Self(raw))
    }

    pub fn as_json(&self) -> &Value {
        &self.0
    }
}

/// Free text beside a report or its resolution: [`NOTE_CHARS`] characters.
pub fn note(raw: &str, what: &str) -> Result<String, String> {
    length(raw, &NOTE_CHARS, what)?;
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_allow_list_and_removes_the_rest() {
        let html = sanitize_html(
            r#"<p onclick="x()">Hi <strong>there</strong><script>alert(1)</script><a href="https://e.com" rel="opener" data-x="1" target="_blank">l</a><img src=x onerror=alert(1)><iframe src="https://evil"></iframe><style>p{}</style></p>"#,
        );
        assert_eq!(
            html,
            r#"<p>Hi <strong>there</strong><a href="https://e.com" target="_blank" rel="noopener noreferrer">l</a></p>"#
        );
    }

    #[test]
    fn javascript_urls_are_dropped() {
        assert_eq!(
            sanitize_html(r#"<a href="javascript:alert(1)">x</a>"#),
            r#"<a rel="noopener noreferrer">x</a>"#
        );
    }

    #[test]
    fn bodies_count_what_the_user_typed_and_must_keep_content() {
        assert!(SafeHtml::post_body("too short").is_err());
        assert!(SafeHtml::post_body("<script>alert('x')</script>").is_err());
        assert!(SafeHtml::post_body(&"a".repeat(50_001)).is_err());
        assert!(SafeHtml::comment_body("ok").is_ok());
    }

    #[test]
    fn event_dates_are_iso_8601() {
        assert!(EventDate::parse("2026-12-31").is_ok());
        assert!(EventDate::parse("2026-12-31T18:00:00Z").is_ok());
        assert!(EventDate::parse("31/12/2026").is_err());
    }

    #[test]
    fn profile_details_are_small_objects() {
        assert!(ProfileDetails::parse(serde_json::json!({"bio": "x"})).is_ok());
        assert!(ProfileDetails::parse(serde_json::json!([1])).is_err());
        assert!(ProfileDetails::parse(serde_json::json!({"bio": "x".repeat(17_000)})).is_err());
    }
}
