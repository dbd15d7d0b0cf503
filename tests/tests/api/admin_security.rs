//! Admin security operations end to end: listing and lifting IP blocks, with the
//! admin role and step-up enforced.

use api_tests::{Admin, app, database, new_user};
use serde_json::Value;
use shared::{
    auth::unix_now_ms, config::Config, resilience::Breakers, state::aws_sdk_config,
    store::brute_force::BruteForce,
};

async fn brute_force() -> BruteForce {
    let config = Config::from_env_with(&[]).unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    let aws = aws_sdk_config(&config.aws).await;
    BruteForce::new(
        aws_sdk_dynamodb::Client::new(&aws),
        Breakers::new(&config.resilience).dynamodb,
        &config.tables.rate_limits,
    )
}

async fn delete(path: &str, token: &str) -> reqwest::Response {
    app().delete(path).bearer_auth(token).send_once().await
}

#[tokio::test]
async fn admins_list_blocked_ips_and_lift_blocks_with_step_up() {
    let app = app();
    let Admin {
        id,
        password_only,
        stepped_up,
    } = app.admin().await;

    let ip = format!("198.18.{}.{}", id % 250, (id / 250) % 250);
    let block = brute_force()
        .await
        .block(
            &ip,
            unix_now_ms(),
            &[std::time::Duration::from_secs(600)],
            std::time::Duration::from_secs(86_400),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(block.offence, 1);

    let listed: Value = app
        .blocked_ips(&stepped_up.access_token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    let entry = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["ip"] == ip.as_str()).cloned());
    assert!(
        entry
            .as_ref()
            .is_some_and(|e| e["blockedUntil"].is_string() && e["offence"] == 1),
        "{listed}"
    );

    let path = format!("/api/admin/security/blocked-ips/{ip}");
    // A user is refused by role; the admin's password-only session by step-up.
    let stranger = app.signup(&new_user()).await;
    let response = delete(&path, &stranger.access_token).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "AUTHORIZATION_ERROR");
    assert_eq!(app.blocked_ips(&stranger.access_token).await.status(), 403);
    let response = delete(&path, &password_only.access_token).await;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "STEP_UP_REQUIRED", "{body}");

    assert_eq!(delete(&path, &stepped_up.access_token).await.status(), 204);
    assert_eq!(delete(&path, &stepped_up.access_token).await.status(), 404);
    assert_eq!(
        delete(
            "/api/admin/security/blocked-ips/not-an-ip",
            &stepped_up.access_token
        )
        .await
        .status(),
        400
    );
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1",
    )
    .bind(stranger.body["account"]["id"].as_i64().unwrap_or_default())
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(denied, 2);
}
