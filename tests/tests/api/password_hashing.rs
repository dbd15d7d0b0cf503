//! Password hashing behaviour of the auth routes, in-process against the real stack's
//! database (the hasher's verification counter is only visible from inside):
//! rehash on login when the argon2 parameters changed, and the same hashing work for
//! an unknown account as for a wrong password.

use crate::auth_in_process::{self as support, CHEAP_ARGON2 as CHEAP, state};
use serde_json::json;
use shared::AppState;

/// The event template's client address; these tests do not depend on it.
const IP: &str = "203.0.113.10";

async fn post(
    state: &std::sync::Arc<AppState>,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    support::post(state, path, body, IP).await
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
        .fetch_one(state.db.writer_pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn login_rehashes_a_password_hashed_with_other_parameters() {
    let cheap = state(&CHEAP).await;
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
    let state = state(&CHEAP).await;
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
