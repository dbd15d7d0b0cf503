//! The two cookies, with the attributes ARCHITECTURE.md fixes. Secure even locally:
//! browsers treat http://localhost as a secure context.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header};

pub const REFRESH: &str = "bh_refresh";
pub const CSRF: &str = "bh_csrf";
/// The read-your-writes token (`http::consistency`); `__Host-`: Secure, Path=/, no Domain.
pub const CONSISTENCY: &str = "__Host-bh_consistency";

fn build(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: Duration,
    http_only: bool,
) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path(path)
        .secure(true)
        .http_only(http_only)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .build();
    // Cookie values here are base64url and JWTs: always valid header characters.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// HttpOnly, sent only to /api/auth.
pub fn refresh(token: String, max_age: Duration) -> HeaderValue {
    build(REFRESH, token, "/api/auth", max_age, true)
}

/// Readable by scripts (double submit), sent everywhere.
pub fn csrf(token: String, max_age: Duration) -> HeaderValue {
    build(CSRF, token, "/", max_age, false)
}

/// HttpOnly (the page never needs it), sent to every route.
pub fn consistency(token: String, max_age: Duration) -> HeaderValue {
    build(CONSISTENCY, token, "/", max_age, true)
}

pub fn clear_refresh() -> HeaderValue {
    build(REFRESH, String::new(), "/api/auth", Duration::ZERO, true)
}

pub fn clear_csrf() -> HeaderValue {
    build(CSRF, String::new(), "/", Duration::ZERO, false)
}

/// The value of cookie `name` from the request's Cookie headers.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_cookie_has_the_fixed_attributes() {
        let value = refresh("tok".into(), Duration::from_secs(60));
        let text = value.to_str().unwrap_or_default();
        for part in [
            "bh_refresh=tok",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/api/auth",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn csrf_cookie_is_readable_by_scripts() {
        let text = csrf("t".into(), Duration::from_secs(60))
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            text.contains("Path=/") && text.contains("Secure") && text.contains("SameSite=Strict")
        );
        assert!(!text.contains("HttpOnly"), "{text}");
    }

    #[test]
    fn consistency_cookie_is_a_host_cookie_scripts_cannot_read() {
        let value = consistency("t".into(), Duration::from_secs(60));
        let text = value.to_str().unwrap_or_default();
        for part in [
            "__Host-bh_consistency=t",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        assert!(!text.contains("Domain"), "{text}");
    }

    #[test]
    fn reads_one_cookie_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bh_refresh=xyz; b=2"),
        );
        assert_eq!(read(&headers, REFRESH), Some("xyz".into()));
        assert_eq!(read(&headers, CSRF), None);
    }
}
