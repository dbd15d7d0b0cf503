//! The session's two cookies (see `crate::cookies` for the rules every cookie keeps).
//!
//! | cookie | holds | Path | HttpOnly | SameSite |
//! |---|---|---|---|---|
//! | `__Secure-bh_refresh` | the refresh token | `/api/auth` (refresh and logout only) | yes | Strict |
//! | `__Host-bh_csrf` | the CSRF token, which names its session | `/` | yes | Strict |
//!
//! The refresh token reaches only `/api/auth`. The CSRF cookie reaches every path of
//! the API's host, `GET /api/csrf-token` included, and its token names the session it
//! was issued for (MAC'd), so that route can hand a page the token of the caller's
//! session without seeing the refresh token (`auth::csrf`). No page reads either
//! cookie: the CSRF token comes in response bodies.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use crate::cookies::{CookieSpec, SameSite};

pub const REFRESH: &str = "__Secure-bh_refresh";
pub const CSRF: &str = "__Host-bh_csrf";

pub const REFRESH_COOKIE: CookieSpec =
    CookieSpec::new(REFRESH, "/api/auth", true, SameSite::Strict);
pub const CSRF_COOKIE: CookieSpec = CookieSpec::new(CSRF, "/", true, SameSite::Strict);

pub fn refresh(token: &str, max_age: Duration) -> HeaderValue {
    REFRESH_COOKIE.set(token, max_age)
}

pub fn csrf(token: &str, max_age: Duration) -> HeaderValue {
    CSRF_COOKIE.set(token, max_age)
}

pub fn clear_refresh() -> HeaderValue {
    REFRESH_COOKIE.clear()
}

pub fn clear_csrf() -> HeaderValue {
    CSRF_COOKIE.clear()
}

/// The value of cookie `name` from the request's Cookie headers.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::cookies::read(headers, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: &HeaderValue) -> String {
        value.to_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn refresh_cookie_reaches_only_the_auth_routes() {
        let text = line(&refresh("tok", Duration::from_secs(60)));
        for part in [
            "__Secure-bh_refresh=tok",
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
    fn csrf_cookie_is_host_only_and_not_for_scripts() {
        let text = line(&csrf("t", Duration::from_secs(60)));
        for part in [
            "__Host-bh_csrf=t",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        assert!(!text.contains("Domain"), "{text}");
    }

    #[test]
    fn clearing_keeps_the_path() {
        assert!(line(&clear_refresh()).contains("Path=/api/auth"));
        assert!(line(&clear_csrf()).contains("Max-Age=0"));
    }
}
