//! Refresh-token rotation, the reuse interval, reuse detection and CSRF on the cookie
//! routes. `make test` serves with REFRESH_REUSE_INTERVAL_SECONDS=2 so the replay test
//! waits seconds; against another server the same variable says what it uses.

use std::time::Duration;

use api_tests::{Session, app, database, new_user};
use serde_json::Value;

/// The server's reuse interval (its default when the variable is unset).
fn reuse_interval() -> Duration {
    let seconds = std::env::var("REFRESH_REUSE_INTERVAL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(seconds)
}

fn generation(session: &Session) -> u64 {
    let payload = session.refresh.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .unwrap_or_default();
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|c| c["gen"].as_u64())
        .unwrap_or(u64::MAX)
}

#[tokio::test]
async fn refresh_rotates_and_the_new_access_token_works() {
    let app = app();
    let first = app.signup(&new_user()).await;
    let second = Session::from_response(app.refresh(&first).await).await;
    assert_eq!((generation(&first), generation(&second)), (0, 1));
    assert_ne!(first.refresh, second.refresh);
    assert_eq!(app.me(&second.access_token).await.status(), 200);
    let third = Session::from_response(app.refresh(&second).await).await;
    assert_eq!(generation(&third), 2);
}

#[tokio::test]
async fn the_parent_within_the_interval_gets_the_current_child() {
    let app = app();
    let parent = app.signup(&new_user()).await;
    let child = Session::from_response(app.refresh(&parent).await).await;
    let again = Session::from_response(app.refresh(&parent).await).await;
    assert_eq!(
        generation(&again),
        generation(&child),
        "no new generation for a parallel tab"
    );
    // Both tabs keep working: the family was not revoked.
    assert_eq!(app.refresh(&child).await.status(), 200);
}

#[tokio::test]
async fn replay_after_the_interval_revokes_the_whole_family() {
    let app = app();
    let parent = app.signup(&new_user()).await;
    let child = Session::from_response(app.refresh(&parent).await).await;
    tokio::time::sleep(reuse_interval() + Duration::from_millis(1500)).await;

    let replay = app.refresh(&parent).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(
        app.refresh(&child).await.status(),
        401,
        "the current child dies with its family"
    );

    let id = parent.body["account"]["id"].as_i64().unwrap_or_default();
    let severity: Option<String> = sqlx::query_scalar(
        "SELECT severity FROM audit_log WHERE event_type = 'TOKEN_REUSE_DETECTED' AND account_id = $1",
    )
    .bind(id)
    .fetch_optional(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(severity.as_deref(), Some("critical"));
}

#[tokio::test]
async fn twenty_concurrent_refreshes_leave_every_caller_with_a_working_token() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let responses = futures_util::future::join_all((0..20).map(|_| app.refresh(&session))).await;
    let mut sessions = Vec::new();
    for response in responses {
        sessions.push(Session::from_response(response).await);
    }
    let generations: std::collections::HashSet<u64> = sessions.iter().map(generation).collect();
    assert_eq!(
        generations,
        [1].into(),
        "all callers hold the same, current generation"
    );
    for session in &sessions {
        assert_eq!(app.me(&session.access_token).await.status(), 200);
    }
    // The family is still usable from any of them.
    assert_eq!(app.refresh(&sessions[7]).await.status(), 200);
}

async fn csrf_rejection(response: reqwest::Response) {
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "CSRF_TOKEN_INVALID", "{body}");
}

#[tokio::test]
async fn refresh_without_a_valid_csrf_token_is_refused() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let other = app.signup(&new_user()).await;
    let forged =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let cases: [(Option<&str>, Option<&str>); 5] = [
        (Some(&session.csrf), None),              // no header
        (None, Some(&session.csrf)),              // no cookie
        (Some(&session.csrf), Some(&other.csrf)), // header and cookie differ
        (Some(forged), Some(forged)),             // a matching pair we never issued
        (Some(&other.csrf), Some(&other.csrf)),   // ours, for another session
    ];
    for (cookie, header) in cases {
        csrf_rejection(app.refresh_with(&session.refresh, cookie, header).await).await;
    }
    let anonymous: Value = app
        .get("/api/csrf-token")
        .send_once()
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    let anonymous = anonymous["csrfToken"].as_str().unwrap_or_default();
    csrf_rejection(
        app.refresh_with(&session.refresh, Some(anonymous), Some(anonymous))
            .await,
    )
    .await;
    // Logout is cookie-authenticated too.
    csrf_rejection(
        app.logout_with(&session.refresh, Some(&session.csrf), None)
            .await,
    )
    .await;
    // None of that consumed the session.
    assert_eq!(app.refresh(&session).await.status(), 200);
}

#[tokio::test]
async fn a_csrf_token_fetched_with_the_refresh_cookie_is_bound_to_that_session() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let response = app
        .get("/api/csrf-token")
        .header(
            "cookie",
            format!("{}={}", shared::auth::cookies::REFRESH, session.refresh),
        )
        .send_once()
        .await;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let token = body["csrfToken"].as_str().unwrap_or_default();
    let response = app
        .refresh_with(&session.refresh, Some(token), Some(token))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_missing_or_garbage_refresh_cookie_is_a_401() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let response = app
        .refresh_with("garbage", Some(&session.csrf), Some(&session.csrf))
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_deleted_accounts_session_cannot_refresh() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let id = session.body["account"]["id"].as_i64().unwrap_or_default();
    sqlx::query("UPDATE accounts SET deleted = TRUE, deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.refresh(&session).await.status(), 401);
}

#[tokio::test]
async fn a_role_change_applies_at_the_next_refresh() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let id = session.body["account"]["id"].as_i64().unwrap_or_default();
    sqlx::query("UPDATE accounts SET role_id = 3 WHERE id = $1")
        .bind(id)
        .execute(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refreshed = Session::from_response(app.refresh(&session).await).await;
    let payload = refreshed.access_token.split('.').nth(1).unwrap_or_default();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(claims["roleId"], 3, "{claims}");
}
