//! Helpers shared by the integration and end-to-end tests. They run against the local
//! stack that `make test` starts; its environment (`.stack/test/env`) says where it is.

use std::{future::Future, path::PathBuf, process::Command, time::Duration};

use shared::auth::cookies;

pub mod mail;
pub mod traffic;

/// The API served by `cargo lambda watch` (set by `scripts/test.sh`).
pub fn api(path: &str) -> String {
    let base = std::env::var("BH_API_URL").unwrap_or_else(|_| "http://127.0.0.1:9010".into());
    format!("{base}{path}")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build the HTTP client: {e}"))
}

/// Sends a request; a 500 from the cargo lambda watch emulator itself (its
/// problem+json, not our envelope: the function was not reached) is retried once.
/// Seen rarely under heavy parallel load; API Gateway has no such layer.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    let retry = request.try_clone();
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    if response.status() != 500 {
        return response;
    }
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    let from_emulator = String::from_utf8_lossy(&bytes).contains("httpstatuses.com");
    match retry {
        Some(retry) if from_emulator => retry
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}")),
        _ => {
            let mut rebuilt = http::Response::new(bytes);
            *rebuilt.status_mut() = status;
            *rebuilt.headers_mut() = headers;
            reqwest::Response::from(rebuilt)
        }
    }
}

/// Runs `scripts/stack.sh <command>` for this stack, e.g. `stop-replica`.
pub fn stack(command: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/stack.sh");
    let status = Command::new(&script)
        .arg(command)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        status.success(),
        "scripts/stack.sh {command} failed: {status}"
    );
}

/// Restarts (and re-provisions) moto on drop if a failed assertion left it stopped.
pub struct RestoreMoto;

impl Drop for RestoreMoto {
    fn drop(&mut self) {
        if moto_is_down() {
            stack("start-moto");
        }
    }
}

/// True while nothing listens on moto's port.
pub fn moto_is_down() -> bool {
    let url = require_env("AWS_ENDPOINT_URL");
    std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err()
}

/// The health report in a health answer: the body itself when 200, the envelope's
/// details when 503.
pub fn health_report(status: u16, body: &serde_json::Value) -> &serde_json::Value {
    if status == 200 {
        body
    } else {
        &body["error"]["details"]
    }
}

/// Polls `probe` every 200 ms until it yields `Some`, or panics after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `details`/`error` JSON of a response, with its status.
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = send(client().get(url)).await;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Fails with a clear message when a test runs outside `make test`.
pub fn require_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with `make test` (it starts the local stack)")
    })
}

/// A fresh, unique account's credentials (tests share one database).
pub struct User {
    pub username: String,
    pub email: String,
    pub password: String,
}

/// Every password `new_user` makes is `"{PASSWORD_HEAD} <6 hex digits> {PASSWORD_TAIL}"`:
/// the log scan (`tests/log_scan.rs`) looks for that shape.
pub const PASSWORD_HEAD: &str = "tidal orchid";
pub const PASSWORD_TAIL: &str = "lantern";

pub fn new_user() -> User {
    let id = uuid::Uuid::new_v4().simple().to_string();
    User {
        username: format!("user_{}", &id[..12]),
        email: format!("u{}@example.com", &id[..12]),
        password: format!("{PASSWORD_HEAD} {} {PASSWORD_TAIL}", &id[..6]),
    }
}

/// What a client holds after signup, login or refresh.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh: String,
    pub csrf: String,
    pub body: serde_json::Value,
}

/// The value of a cookie set by the response.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookie| {
            let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
}

/// The full Set-Cookie line for `name` (to check attributes).
pub fn set_cookie_line(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .map(String::from)
}

impl Session {
    /// Reads a 200/201 token response; panics with the body otherwise.
    pub async fn from_response(response: reqwest::Response) -> Session {
        let status = response.status().as_u16();
        let refresh = set_cookie(&response, cookies::REFRESH);
        let csrf = set_cookie(&response, cookies::CSRF);
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        assert!(
            status == 200 || status == 201,
            "expected tokens, got {status}: {body}"
        );
        Session {
            access_token: body["accessToken"].as_str().unwrap_or_default().to_owned(),
            refresh: refresh.unwrap_or_else(|| panic!("no {} cookie: {body}", cookies::REFRESH)),
            csrf: csrf.unwrap_or_else(|| panic!("no {} cookie: {body}", cookies::CSRF)),
            body,
        }
    }
}

pub async fn post_json(path: &str, body: serde_json::Value) -> reqwest::Response {
    send(client().post(api(path)).json(&body)).await
}

pub async fn signup(user: &User) -> Session {
    let body = serde_json::json!({"username": user.username, "email": user.email, "password": user.password});
    Session::from_response(post_json("/api/auth/signup", body).await).await
}

pub async fn login(login: &str, password: &str) -> reqwest::Response {
    post_json(
        "/api/auth/login",
        serde_json::json!({"login": login, "password": password}),
    )
    .await
}

/// POST a cookie-authenticated route with the refresh cookie, the CSRF cookie and the
/// CSRF header given separately, so tests can break any one of them.
pub async fn cookie_post(
    path: &str,
    refresh: &str,
    csrf_cookie: Option<&str>,
    csrf_header: Option<&str>,
) -> reqwest::Response {
    let mut cookie = format!("{}={refresh}", cookies::REFRESH);
    if let Some(csrf) = csrf_cookie {
        cookie.push_str(&format!("; {}={csrf}", cookies::CSRF));
    }
    let mut request = client().post(api(path)).header("cookie", cookie);
    if let Some(header) = csrf_header {
        request = request.header("x-csrf-token", header);
    }
    send(request).await
}

/// A well-formed refresh of `session`.
pub async fn refresh(session: &Session) -> reqwest::Response {
    cookie_post(
        "/api/auth/refresh",
        &session.refresh,
        Some(&session.csrf),
        Some(&session.csrf),
    )
    .await
}

pub async fn bearer_get(path: &str, token: &str) -> reqwest::Response {
    send(client().get(api(path)).bearer_auth(token)).await
}

/// The test stack's writer, for checking what the API wrote.
pub async fn database() -> sqlx::PgPool {
    sqlx::PgPool::connect(&require_env("DATABASE_URL"))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"))
}

pub async fn bearer_post(path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
    send(client().post(api(path)).bearer_auth(token).json(&body)).await
}

/// Any method, with an optional Bearer token and JSON body (for the matrix tests).
pub async fn request(
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = client().request(method, api(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

pub async fn bearer_patch(path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
    request(reqwest::Method::PATCH, path, Some(token), Some(body)).await
}

pub async fn bearer_put(path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
    request(reqwest::Method::PUT, path, Some(token), Some(body)).await
}

pub async fn bearer_delete(path: &str, token: &str) -> reqwest::Response {
    request(reqwest::Method::DELETE, path, Some(token), None).await
}

/// The status and JSON body of a response (Null when the body is not JSON).
pub async fn status_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// A new account with `role_id` set in the database, and a session refreshed after the
/// change so its access token carries the role. 1 user, 2 admin, 3 moderator.
pub async fn account_with_role(role_id: i16) -> Session {
    let first = signup(&new_user()).await;
    let id = first.body["account"]["id"].as_i64().unwrap_or_default();
    sqlx::query("UPDATE accounts SET role_id = $2 WHERE id = $1")
        .bind(id)
        .bind(role_id)
        .execute(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut session = Session::from_response(refresh(&first).await).await;
    session.body["account"] = first.body["account"].clone();
    session
}

/// The `path` of every field error in an error envelope's `details.errors`.
pub fn error_paths(body: &serde_json::Value) -> Vec<&str> {
    body["error"]["details"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect()
}

/// The account id of a signed-in session.
pub fn account_id(session: &Session) -> i64 {
    session.body["account"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no account in {}", session.body))
}

/// Creates a profile through `POST /api/profiles` and returns its id.
pub async fn create_profile(token: &str, name: &str) -> i64 {
    let (status, body) =
        status_json(bearer_post("/api/profiles", token, serde_json::json!({"name": name})).await)
            .await;
    assert_eq!(status, 201, "profile creation: {body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no profile id: {body}"))
}

/// Creates a text post by `profile_id` through `POST /api/posts` and returns its id.
pub async fn create_post(token: &str, profile_id: i64, title: &str) -> i64 {
    let body = serde_json::json!({
        "content": {"title": title, "body": "<p>Some text for the post body.</p>"},
        "postTypeId": 1, "profileId": profile_id,
    });
    let (status, body) = status_json(bearer_post("/api/posts", token, body).await).await;
    assert_eq!(status, 201, "post creation: {body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no post id: {body}"))
}

/// The claims of a JWT, unverified (tests look at what the server put in).
pub fn token_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// The code an authenticator app shows `steps_ahead` 30 s steps from now.
pub fn totp_code(secret: &[u8], steps_ahead: i64) -> String {
    let time = u64::try_from(shared::auth::unix_now() + 30 * steps_ahead).unwrap_or(0);
    shared::auth::totp::code_at(secret, time).unwrap_or_else(|e| panic!("{e}"))
}

/// What enabling 2FA left the client with.
pub struct TwoFactor {
    pub secret: Vec<u8>,
    /// The code that enabled 2FA; its time step is used up.
    pub enabling_code: String,
    pub backup_codes: Vec<String>,
}

/// Setup then enable, with the code computed from the secret setup returned.
pub async fn enable_two_factor(session: &Session) -> TwoFactor {
    let setup: serde_json::Value = bearer_post(
        "/api/auth/2fa/setup",
        &session.access_token,
        serde_json::json!({}),
    )
    .await
    .json()
    .await
    .unwrap_or(serde_json::Value::Null);
    let base32 = setup["secret"].as_str().unwrap_or_default().to_owned();
    assert!(
        setup["otpauthUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/") && u.contains(&base32)),
        "{setup}"
    );
    assert!(
        setup["qrSvg"]
            .as_str()
            .is_some_and(|svg| svg.contains("<svg"))
    );
    let secret = totp_rs::Secret::try_from_base32(&base32)
        .map(|secret| secret.as_ref().to_vec())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(secret.len(), 20, "a 160-bit secret");
    let enabling_code = totp_code(&secret, 0);
    let enabled = bearer_post(
        "/api/auth/2fa/enable",
        &session.access_token,
        serde_json::json!({"code": enabling_code}),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    let body: serde_json::Value = enabled.json().await.unwrap_or(serde_json::Value::Null);
    let backup_codes: Vec<String> = body["backupCodes"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(backup_codes.len(), 10);
    TwoFactor {
        secret,
        enabling_code,
        backup_codes,
    }
}

/// Logs in with the password and returns the MFA token (2FA is on).
pub async fn mfa_challenge(user: &User) -> String {
    let response = login(&user.username, &user.password).await;
    assert_eq!(response.status(), 200);
    // (A read-your-writes cookie may come: the login touched the writer.)
    for session_cookie in [shared::auth::cookies::REFRESH, shared::auth::cookies::CSRF] {
        assert!(
            set_cookie(&response, session_cookie).is_none(),
            "no session before the second factor"
        );
    }
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(body["mfaRequired"], true, "{body}");
    assert!(body.get("accessToken").is_none());
    body["mfaToken"].as_str().unwrap_or_default().to_owned()
}

pub async fn verify_mfa(mfa_token: &str, code: &str) -> reqwest::Response {
    post_json(
        "/api/auth/2fa/verify",
        serde_json::json!({"mfaToken": mfa_token, "code": code}),
    )
    .await
}

/// An admin with 2FA: `password_only` is its first session (refreshed after the role
/// change, so its token says admin; `amr: ["pwd"]`), `stepped_up` signed in with a
/// backup code (`amr: ["pwd","otp"]`).
pub struct Admin {
    pub id: i64,
    pub password_only: Session,
    pub stepped_up: Session,
}

/// The role is set in the database: role changes arrive with the domain work.
pub async fn admin() -> Admin {
    let user = new_user();
    let first = signup(&user).await;
    let id = first.body["account"]["id"].as_i64().unwrap_or_default();
    sqlx::query("UPDATE accounts SET role_id = 2 WHERE id = $1")
        .bind(id)
        .execute(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let two_factor = enable_two_factor(&first).await;
    let password_only = Session::from_response(refresh(&first).await).await;
    let challenge = mfa_challenge(&user).await;
    let stepped_up =
        Session::from_response(verify_mfa(&challenge, &two_factor.backup_codes[0]).await).await;
    Admin {
        id,
        password_only,
        stepped_up,
    }
}

/// Waits until the replica has replayed everything the writer has written so far
/// (the insert position: the stack commits asynchronously, so committed WAL may not be
/// written out yet). Routes that read from the replica are eventually consistent.
pub async fn replica_caught_up() {
    let writer = database().await;
    let target: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&writer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let replica = sqlx::PgPool::connect(&require_env("DATABASE_URL_REPLICA"))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the replica: {e}"));
    eventually(
        "the replica to catch up",
        // Generous: on a loaded two-core machine replay can trail by seconds.
        Duration::from_secs(30),
        || async {
            let replayed: Option<bool> =
                sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                    .bind(&target)
                    .fetch_one(&replica)
                    .await
                    .ok()
                    .flatten();
            replayed.filter(|done| *done).map(|_| ())
        },
    )
    .await;
}
