//! Password hashing behaviour of the auth routes, in-process against the real stack's
//! database (the hasher's verification counter is only visible from inside):
//! rehash on login when the argon2 parameters changed, and the same hashing work for
//! an unknown account as for a wrong password.

use std::sync::Arc;

use serde_json::{Value, json};
use shared::{AppState, config::Config};
use tower::ServiceExt;

/// The stack's configuration with some variables replaced.
async fn state(overrides: &[(&str, &str)]) -> Arc<AppState> {
    let config =
        Config::from_env_with(overrides).unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    AppState::from_config(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

const CHEAP: &[(&str, &str)] = &[
    ("ARGON2_MEMORY_KIB", "1024"),
    ("ARGON2_ITERATIONS", "1"),
    ("ARGON2_PARALLELISM", "1"),
];

/// POSTs JSON through the function's whole stack, as an API Gateway event.
async fn post(state: &Arc<AppState>, path: &str, body: Value) -> (u16, Value) {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/apigw-auth-login.json"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut event: Value = serde_json::from_str(&template).unwrap_or_else(|e| panic!("{e}"));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = json!(body.to_string());
    let request =
        lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let app = shared::http::app(auth::router(state.clone()), &state.config.http);
    let response = app
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn credentials() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("hash_{}", &id[..12]),
        format!("saffron kettle {} drums", &id[..6]),
    )
}

async fn stored_hash(state: &AppState, username: &str) -> String {
    sqlx::query_scalar("SELECT password_hash FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_one(state.db.writer())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn login_rehashes_a_password_hashed_with_other_parameters() {
    let cheap = state(CHEAP).await;
    let (username, password) = credentials();
    let (status, body) = post(
        &cheap,
        "/api/auth/signup",
        json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        stored_hash(&cheap, &username)
            .await
            .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
    );

    // The operator raises the cost to the seed defaults; the next login upgrades.
    let seed = state(&[]).await;
    let (status, body) = post(
        &seed,
        "/api/auth/login",
        json!({"login": username, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        stored_hash(&seed, &username)
            .await
            .starts_with("$argon2id$v=19$m=65536,t=3,p=4$")
    );
    let (status, _) = post(
        &seed,
        "/api/auth/login",
        json!({"login": username, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "the upgraded hash verifies");
}

#[tokio::test]
async fn an_unknown_account_costs_the_same_verification_as_a_wrong_password() {
    let state = state(CHEAP).await;
    let (username, password) = credentials();
    let (status, _) = post(
        &state,
        "/api/auth/signup",
        json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
    )
    .await;
    assert_eq!(status, 201);

    let before = state.passwords.verifications();
    let (status, _) = post(
        &state,
        "/api/auth/login",
        json!({"login": "no_such_account_here", "password": password}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        state.passwords.verifications(),
        before + 1,
        "unknown account: one verification"
    );

    let (status, _) = post(
        &state,
        "/api/auth/login",
        json!({"login": username, "password": "wrong but long enough"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        state.passwords.verifications(),
        before + 2,
        "wrong password: one verification"
    );
}
