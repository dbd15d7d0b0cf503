//! Per-account backoff after failed logins, in-process against the real stack: the
//! answer is the same for an existing and an unknown login name.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use shared::AppState;

use crate::auth_in_process as support;

async fn state() -> Arc<AppState> {
    let mut overrides = vec![
        ("ACCOUNT_BACKOFF_AFTER_FAILURES", "2"),
        ("RATE_LIMIT_AUTH_MAX", "1000"),
        ("RATE_LIMIT_GLOBAL_MAX", "1000"),
        ("RATE_LIMIT_WRITE_MAX", "1000"),
    ];
    overrides.extend(support::CHEAP_ARGON2);
    support::state(&overrides).await
}

/// The reply with the fields that differ between any two requests blanked.
async fn post(state: &Arc<AppState>, path: &str, body: Value, ip: &str) -> (u16, Value) {
    let (status, mut body) = support::post(state, path, body, ip).await;
    for volatile in ["timestamp", "requestId", "path"] {
        body["error"][volatile] = Value::Null;
    }
    (status, body)
}

#[tokio::test]
async fn backoff_is_the_same_for_existing_and_unknown_login_names() {
    let state = state().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (username, password) = (
        format!("bo_{}", &id[..12]),
        format!("quartz heron {} mill", &id[..6]),
    );
    let ip = format!("10.77.{}.{}", id.as_bytes()[0], id.as_bytes()[1]);
    let (status, _) = post(
        &state,
        "/api/auth/signup",
        json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
        &ip,
    )
    .await;
    assert_eq!(status, 201);
    let unknown = format!("nobody_{}", &id[..12]);

    for name in [&username, &unknown] {
        for _ in 0..2 {
            let (status, _) = post(
                &state,
                "/api/auth/login",
                json!({"login": name, "password": "wrong wrong wrong"}),
                &ip,
            )
            .await;
            assert_eq!(status, 401);
        }
    }
    // Third attempt, right away: both back off 2^(2-2) = 1 s, with identical answers,
    // even with the right password for the existing account.
    let existing = post(
        &state,
        "/api/auth/login",
        json!({"login": username, "password": password}),
        &ip,
    )
    .await;
    let missing = post(
        &state,
        "/api/auth/login",
        json!({"login": unknown, "password": password}),
        &ip,
    )
    .await;
    assert_eq!(existing.0, 429);
    assert_eq!(existing, missing);
    assert_eq!(existing.1["error"]["details"]["tier"], "login-backoff");
    assert_eq!(existing.1["error"]["details"]["retryAfter"], 1);

    // After waiting, one more failure doubles the wait.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, _) = post(
        &state,
        "/api/auth/login",
        json!({"login": unknown, "password": "wrong wrong wrong"}),
        &ip,
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = post(
        &state,
        "/api/auth/login",
        json!({"login": unknown, "password": "x"}),
        &ip,
    )
    .await;
    assert_eq!(
        (status, body["error"]["details"]["retryAfter"].as_u64()),
        (429, Some(2))
    );

    // The right password after the wait signs in and resets the count.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, body) = post(
        &state,
        "/api/auth/login",
        json!({"login": username, "password": password}),
        &ip,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        &state,
        "/api/auth/login",
        json!({"login": username, "password": "wrong wrong wrong"}),
        &ip,
    )
    .await;
    assert_eq!(status, 401, "no backoff right after a success");
}
