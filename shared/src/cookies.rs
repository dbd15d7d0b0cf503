//! Every cookie the API sets is a [`CookieSpec`]: Secure (even locally: browsers treat
//! http://localhost as a secure context), no `Domain` (host-only), a SameSite policy,
//! a path, HttpOnly or not, and a name with the strongest prefix those attributes
//! allow: `__Host-` when the path is `/`, `__Secure-` otherwise. [`CookieSpec::new`]
//! checks the prefix at compile time, so a cookie cannot be declared with a weaker
//! one. [`EVERY`] lists them all; the end-to-end cookie test checks every Set-Cookie
//! the API sends against it.

use std::time::Duration;

pub use cookie::SameSite;
use cookie::{Cookie, time};
use http::{HeaderMap, HeaderValue, header};

/// How one cookie is set, cleared and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieSpec {
    pub name: &'static str,
    pub path: &'static str,
    pub http_only: bool,
    pub same_site: SameSite,
}

const HOST_PREFIX: &str = "__Host-";
const SECURE_PREFIX: &str = "__Secure-";

const fn starts_with(text: &str, prefix: &str) -> bool {
    let (text, prefix) = (text.as_bytes(), prefix.as_bytes());
    if text.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if text[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_root(path: &str) -> bool {
    let path = path.as_bytes();
    path.len() == 1 && path[0] == b'/'
}

impl CookieSpec {
    /// Panics (at compile time, in a `const`) unless `name` carries the strongest
    /// prefix: `__Host-` for `Path=/`, `__Secure-` for any other path.
    pub const fn new(
        name: &'static str,
        path: &'static str,
        http_only: bool,
        same_site: SameSite,
    ) -> Self {
        assert!(starts_with(path, "/"), "a cookie path starts with a slash");
        if is_root(path) {
            assert!(
                starts_with(name, HOST_PREFIX),
                "a Secure, host-only cookie on Path=/ must be named __Host-..."
            );
        } else {
            assert!(
                starts_with(name, SECURE_PREFIX),
                "a Secure cookie on a narrower path must be named __Secure-..."
            );
        }
        Self {
            name,
            path,
            http_only,
            same_site,
        }
    }

    fn header(&self, value: &str, max_age: Duration) -> HeaderValue {
        let cookie = Cookie::build((self.name, value))
            .path(self.path)
            .secure(true)
            .http_only(self.http_only)
            .same_site(self.same_site)
            .max_age(time::Duration::seconds(
                i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
            ))
            .build();
        // Values set here are base64url and JWTs: always valid header characters.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    /// `Set-Cookie` with `value`, kept for `max_age`.
    pub fn set(&self, value: &str, max_age: Duration) -> HeaderValue {
        self.header(value, max_age)
    }

    /// `Set-Cookie` that deletes it: same name, path and prefix rules, `Max-Age=0`
    /// (a browser ignores a `__Host-` deletion that lacks `Secure` or `Path=/`).
    pub fn clear(&self) -> HeaderValue {
        self.header("", Duration::ZERO)
    }

    /// Its value among the request's Cookie headers.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        read(headers, self.name)
    }
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

/// Every cookie the API sets. A new cookie is declared as a `CookieSpec` const and
/// added here; the end-to-end cookie test then checks its attributes too.
pub const EVERY: &[CookieSpec] = &[
    crate::auth::cookies::REFRESH_COOKIE,
    crate::auth::cookies::CSRF_COOKIE,
    crate::http::consistency::COOKIE,
];

/// The spec of the cookie named `name`, if the API sets one by that name.
pub fn spec(name: &str) -> Option<&'static CookieSpec> {
    EVERY.iter().find(|spec| spec.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: CookieSpec = CookieSpec::new("__Host-t", "/", true, SameSite::Strict);
    const NARROW: CookieSpec = CookieSpec::new("__Secure-t", "/api/x", false, SameSite::Lax);

    fn text(value: &HeaderValue) -> String {
        value.to_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn the_attributes_are_set_as_declared() {
        let line = text(&ROOT.set("v", Duration::from_secs(60)));
        for part in [
            "__Host-t=v",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
        assert!(!line.contains("Domain"), "{line}");
        let line = text(&NARROW.set("v", Duration::from_secs(1)));
        assert!(line.contains("Path=/api/x") && line.contains("SameSite=Lax"));
        assert!(
            line.contains("Secure") && !line.contains("HttpOnly"),
            "{line}"
        );
    }

    #[test]
    fn a_cleared_cookie_keeps_what_its_prefix_needs() {
        let line = text(&ROOT.clear());
        for part in ["__Host-t=", "Secure", "Path=/", "Max-Age=0"] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
    }

    #[test]
    fn prefixes_follow_the_path() {
        assert!(starts_with("__Host-x", HOST_PREFIX) && !starts_with("__Hos", HOST_PREFIX));
        assert!(is_root("/") && !is_root("/api") && !is_root(""));
        let weaker =
            std::panic::catch_unwind(|| CookieSpec::new("__Secure-t", "/", true, SameSite::Strict));
        assert!(weaker.is_err(), "__Secure- on Path=/ must be refused");
        let wrong = std::panic::catch_unwind(|| {
            CookieSpec::new("__Host-t", "/api", true, SameSite::Strict)
        });
        assert!(wrong.is_err(), "__Host- needs Path=/");
        let bare =
            std::panic::catch_unwind(|| CookieSpec::new("t", "/api", true, SameSite::Strict));
        assert!(bare.is_err(), "an unprefixed name must be refused");
    }

    #[test]
    fn every_cookie_is_listed_once() {
        for spec in EVERY {
            assert_eq!(EVERY.iter().filter(|s| s.name == spec.name).count(), 1);
            assert_eq!(super::spec(spec.name), Some(spec));
        }
    }

    #[test]
    fn reads_one_cookie_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-t=xyz; b=2"),
        );
        assert_eq!(ROOT.read(&headers), Some("xyz".into()));
        assert_eq!(NARROW.read(&headers), None);
    }
}
