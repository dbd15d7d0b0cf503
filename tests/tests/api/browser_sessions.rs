//! Browser sessions (issue #15), end to end through cargo lambda watch, without a
//! browser: a client that keeps cookies the way a browser does (by name and path, so
//! the refresh cookie only goes to /api/auth) and takes the CSRF token from response
//! bodies only. The flow `GET /api/csrf-token` → refresh → logout; the refusals (a
//! token of another session, a forged one, none); and every cookie's attributes.
//! The browser itself is tests/browser (scripts/browser-test.sh).

use std::collections::BTreeMap;

use api_tests::{app, new_user, token_claims};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use shared::{auth::cookies, cookies::EVERY};

/// One `Set-Cookie` line, parsed.
#[derive(Debug, Clone)]
struct SetCookie {
    name: String,
    value: String,
    /// Attribute names lowercased, with their values as sent.
    attributes: BTreeMap<String, Option<String>>,
    line: String,
}

impl SetCookie {
    fn parse(line: &str) -> Option<Self> {
        let mut parts = line.split(';').map(str::trim);
        let (name, value) = parts.next()?.split_once('=')?;
        let attributes = parts
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('=') {
                Some((key, value)) => (key.trim().to_lowercase(), Some(value.trim().to_owned())),
                None => (part.to_lowercase(), None),
            })
            .collect();
        Some(Self {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes,
            line: line.to_owned(),
        })
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|v| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.attributes.contains_key(name)
    }

    fn path(&self) -> &str {
        self.attribute("path").unwrap_or("/")
    }

    fn deletes(&self) -> bool {
        self.value.is_empty() || self.attribute("max-age") == Some("0")
    }
}

fn set_cookies(response: &reqwest::Response) -> Vec<SetCookie> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(SetCookie::parse)
        .collect()
}

/// RFC 6265 §5.1.4 path-match: what decides where a browser sends a cookie.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

/// A browser's cookie jar for one host, reduced to what matters here: it stores what
/// responses set, drops what they delete, and sends a cookie only to its path.
#[derive(Default, Clone)]
struct Jar {
    cookies: BTreeMap<String, SetCookie>,
    /// Every Set-Cookie the API sent this jar, for the attribute checks.
    seen: Vec<SetCookie>,
}

impl Jar {
    fn store(&mut self, response: &reqwest::Response) {
        for cookie in set_cookies(response) {
            if cookie.deletes() {
                self.cookies.remove(&cookie.name);
            } else {
                self.cookies.insert(cookie.name.clone(), cookie.clone());
            }
            self.seen.push(cookie);
        }
    }

    fn header(&self, path: &str) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies
            .values()
            .filter(|c| path_matches(c.path(), path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(|c| c.value.as_str())
    }

    /// Sends `method path` with the cookies a browser would send there, and an
    /// `X-CSRF-Token` header when given; stores what the answer sets.
    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = app().http(method, path);
        if let Some(cookie) = self.header(path) {
            request = request.header("cookie", cookie);
        }
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await;
        self.store(&response);
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&mut self, path: &str, csrf: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, csrf, None).await
    }

    async fn csrf_token(&mut self) -> String {
        let (status, body) = self
            .send(reqwest::Method::GET, "/api/csrf-token", None, None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["csrfToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no csrfToken: {body}"))
            .to_owned()
    }
}

/// A new account signed up through `jar`; its JSON answer.
async fn sign_up(jar: &mut Jar) -> Value {
    let user = new_user();
    let body = json!({"username": user.username, "email": user.email, "password": user.password});
    let (status, body) = jar
        .send(reqwest::Method::POST, "/api/auth/signup", None, Some(body))
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

fn csrf_refused(what: &str, (status, body): (u16, Value)) {
    assert_eq!(status, 403, "{what}: {body}");
    assert_eq!(
        body["error"]["code"], "CSRF_TOKEN_INVALID",
        "{what}: {body}"
    );
}

#[tokio::test]
async fn the_csrf_token_route_hands_out_the_token_refresh_and_logout_accept() {
    let mut jar = Jar::default();
    let signup = sign_up(&mut jar).await;
    let from_signup = signup["csrfToken"].as_str().unwrap_or_default().to_owned();
    assert!(
        !from_signup.is_empty(),
        "signup answers csrfToken: {signup}"
    );

    // As a browser: the refresh cookie is not sent to /api/csrf-token, the CSRF one is.
    assert!(
        jar.header("/api/csrf-token")
            .is_some_and(|c| { c.contains(cookies::CSRF) && !c.contains(cookies::REFRESH) })
    );
    let token = jar.csrf_token().await;
    assert_eq!(
        token, from_signup,
        "the session's token, not an anonymous one"
    );

    let (status, refreshed) = jar.post("/api/auth/refresh", Some(&token)).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed["accessToken"].is_string());
    // One token per session: the refresh answers it again, and it stays good.
    assert_eq!(refreshed["csrfToken"].as_str(), Some(token.as_str()));

    let token = jar.csrf_token().await;
    let (status, body) = jar.post("/api/auth/logout", Some(&token)).await;
    assert_eq!(status, 204, "{body}");
    assert!(jar.value(cookies::REFRESH).is_none() && jar.value(cookies::CSRF).is_none());
    let (status, body) = jar.post("/api/auth/refresh", Some(&token)).await;
    assert_eq!(status, 401, "after logout: {body}");
}

#[tokio::test]
async fn login_and_refresh_answer_the_token_that_works_next() {
    let mut jar = Jar::default();
    let user = new_user();
    let body = json!({"username": user.username, "email": user.email, "password": user.password});
    let (status, _) = jar
        .send(reqwest::Method::POST, "/api/auth/signup", None, Some(body))
        .await;
    assert_eq!(status, 201);
    let mut jar = Jar::default();
    let login = json!({"login": user.username, "password": user.password});
    let (status, login) = jar
        .send(reqwest::Method::POST, "/api/auth/login", None, Some(login))
        .await;
    assert_eq!(status, 200, "{login}");
    let mut token = login["csrfToken"].as_str().unwrap_or_default().to_owned();
    for round in 0..3 {
        let (status, body) = jar.post("/api/auth/refresh", Some(&token)).await;
        assert_eq!(status, 200, "refresh {round}: {body}");
        token = body["csrfToken"].as_str().unwrap_or_default().to_owned();
    }
    let (status, body) = jar.post("/api/auth/logout", Some(&token)).await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn two_factor_verify_answers_the_token_that_works_next() {
    let user = new_user();
    let app = app();
    let two_factor = app
        .enable_two_factor(&app.signup(&user).await, &user.password)
        .await;
    let challenge = app.mfa_challenge(&user).await;
    let mut jar = Jar::default();
    let body = json!({"mfaToken": challenge, "code": two_factor.backup_codes[0]});
    let (status, verified) = jar
        .send(
            reqwest::Method::POST,
            "/api/auth/2fa/verify",
            None,
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{verified}");
    let token = verified["csrfToken"].as_str().unwrap_or_default();
    let (status, body) = jar.post("/api/auth/refresh", Some(token)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_token_of_another_session_a_forged_one_or_none_is_refused() {
    let mut victim = Jar::default();
    let signup = sign_up(&mut victim).await;
    let token = victim.csrf_token().await;
    let family = token_claims(signup["accessToken"].as_str().unwrap_or_default())["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!family.is_empty(), "the access token names the session");

    let mut other = Jar::default();
    sign_up(&mut other).await;
    let others_token = other.csrf_token().await;
    let anonymous = Jar::default().csrf_token().await;

    // Forgeries: the victim's session id is no secret (the `sid` claim), the key is.
    let (_, rest) = others_token.split_once('.').unwrap_or_default();
    let spliced = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(&family));
    let made_up = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(&family),
        URL_SAFE_NO_PAD.encode([7_u8; 32]),
        URL_SAFE_NO_PAD.encode([9_u8; 32])
    );
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");

    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        csrf_refused(path, victim.post(path, None).await);
        for (what, header) in [
            ("another session's token", &others_token),
            ("an anonymous token", &anonymous),
            ("another session's MAC under this session's id", &spliced),
            ("a token made without our key", &made_up),
            ("a tampered MAC", &tampered),
        ] {
            // Header and cookie agree, as an attacker who can set both would make them.
            let mut forged = victim.clone();
            if let Some(cookie) = forged.cookies.get_mut(cookies::CSRF) {
                cookie.value.clone_from(header);
            }
            csrf_refused(
                &format!("{path}, {what}"),
                forged.post(path, Some(header)).await,
            );
        }
        // The right token in the header, another in the cookie.
        let mut mismatched = victim.clone();
        if let Some(cookie) = mismatched.cookies.get_mut(cookies::CSRF) {
            cookie.value.clone_from(&others_token);
        }
        csrf_refused(
            &format!("{path}, header and cookie differ"),
            mismatched.post(path, Some(&token)).await,
        );
        // The right token, but no CSRF cookie.
        let mut no_cookie = victim.clone();
        no_cookie.cookies.remove(cookies::CSRF);
        csrf_refused(
            &format!("{path}, no CSRF cookie"),
            no_cookie.post(path, Some(&token)).await,
        );
    }
    // A forged CSRF cookie at the token route buys an anonymous token, not the session's.
    let mut forged = victim.clone();
    if let Some(cookie) = forged.cookies.get_mut(cookies::CSRF) {
        cookie.value.clone_from(&made_up);
    }
    let handed_out = forged.csrf_token().await;
    assert_ne!(handed_out, token);
    csrf_refused(
        "a token for a forged cookie",
        forged.post("/api/auth/refresh", Some(&handed_out)).await,
    );
    // None of that touched the session.
    let (status, body) = victim.post("/api/auth/refresh", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
}

/// What each cookie must look like. A new cookie is a row here, and a request that
/// makes the API set it in `every_cookie_...` below.
struct Expected {
    name: &'static str,
    path: &'static str,
    http_only: bool,
    same_site: &'static str,
    /// Logout deletes the session's cookies; the read-your-writes one outlives it (a
    /// signed-out page still reads back what it wrote).
    cleared_on_logout: bool,
}

const EXPECTED: &[Expected] = &[
    Expected {
        name: "__Secure-bh_refresh",
        path: "/api/auth",
        http_only: true,
        same_site: "Strict",
        cleared_on_logout: true,
    },
    Expected {
        name: "__Host-bh_csrf",
        path: "/",
        http_only: true,
        same_site: "Strict",
        cleared_on_logout: true,
    },
    Expected {
        name: "__Host-bh_consistency",
        path: "/",
        http_only: true,
        same_site: "Strict",
        cleared_on_logout: false,
    },
];

/// The prefix rules browsers enforce, and ours: the strongest prefix the attributes allow.
fn check_cookie(cookie: &SetCookie) {
    let line = &cookie.line;
    let expected = EXPECTED
        .iter()
        .find(|e| e.name == cookie.name)
        .unwrap_or_else(|| panic!("a cookie no test expects: {line}"));
    assert!(cookie.has("secure"), "not Secure: {line}");
    assert!(
        !cookie.has("domain"),
        "a Domain widens it to other hosts: {line}"
    );
    assert_eq!(cookie.attribute("path"), Some(expected.path), "{line}");
    assert_eq!(
        cookie.has("httponly"),
        expected.http_only,
        "HttpOnly: {line}"
    );
    assert_eq!(
        cookie.attribute("samesite"),
        Some(expected.same_site),
        "{line}"
    );
    if cookie.path() == "/" {
        assert!(
            cookie.name.starts_with("__Host-"),
            "Path=/ takes __Host-: {line}"
        );
    } else {
        assert!(
            cookie.name.starts_with("__Secure-"),
            "a narrower path takes __Secure-: {line}"
        );
    }
    if !cookie.deletes() {
        assert!(
            cookie
                .attribute("max-age")
                .and_then(|age| age.parse::<u64>().ok())
                .is_some_and(|age| age > 0),
            "a lifetime: {line}"
        );
    }
}

#[tokio::test]
async fn every_cookie_has_the_strongest_prefix_and_its_attributes() {
    // The code's list and this test's agree: a cookie added to shared::cookies::EVERY
    // needs a row in EXPECTED.
    let mut declared: Vec<&str> = EVERY.iter().map(|spec| spec.name).collect();
    let mut expected: Vec<&str> = EXPECTED.iter().map(|e| e.name).collect();
    declared.sort_unstable();
    expected.sort_unstable();
    assert_eq!(declared, expected);

    // Every route that sets or clears a cookie.
    let mut jar = Jar::default();
    let user = new_user();
    let body = json!({"username": user.username, "email": user.email, "password": user.password});
    jar.send(reqwest::Method::POST, "/api/auth/signup", None, Some(body))
        .await;
    let login = json!({"login": user.username, "password": user.password});
    let (status, login) = jar
        .send(reqwest::Method::POST, "/api/auth/login", None, Some(login))
        .await;
    assert_eq!(status, 200, "{login}");
    let token = jar.csrf_token().await;
    let (status, _) = jar.post("/api/auth/refresh", Some(&token)).await;
    assert_eq!(status, 200);
    Jar::default().csrf_token().await;
    let (status, _) = jar.post("/api/auth/logout", Some(&token)).await;
    assert_eq!(status, 204);

    for cookie in &jar.seen {
        check_cookie(cookie);
    }
    for expected in EXPECTED {
        let ways: &[_] = if expected.cleared_on_logout {
            &[("set", false), ("cleared", true)]
        } else {
            &[("set", false)]
        };
        for &(what, deleting) in ways {
            assert!(
                jar.seen
                    .iter()
                    .any(|c| c.name == expected.name && c.deletes() == deleting),
                "{} was never {what}",
                expected.name
            );
        }
    }
}

#[tokio::test]
async fn bearer_clients_need_no_cookie_and_no_csrf_token() {
    let mut jar = Jar::default();
    let signup = sign_up(&mut jar).await;
    let token = signup["accessToken"].as_str().unwrap_or_default();
    let me = app().bearer_get("/api/auth/me", token).await;
    assert_eq!(me.status(), 200);
    let response = app()
        .bearer_post("/api/auth/logout-all", token, json!({}))
        .await;
    assert_eq!(response.status(), 204);
    // Signed out everywhere: the cookie session is over too.
    let csrf = jar.csrf_token().await;
    let (status, body) = jar.post("/api/auth/refresh", Some(&csrf)).await;
    assert_eq!(status, 401, "{body}");
}

#[test]
fn path_matching_follows_rfc_6265() {
    assert!(path_matches("/", "/api/csrf-token"));
    assert!(path_matches("/api/auth", "/api/auth"));
    assert!(path_matches("/api/auth", "/api/auth/refresh"));
    assert!(!path_matches("/api/auth", "/api/csrf-token"));
    assert!(!path_matches("/api/auth", "/api/authx"));
}
