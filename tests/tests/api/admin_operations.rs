//! Admin operations end to end: audit events (filters, cursor paging), their counts,
//! database stats, partition maintenance runs.

use api_tests::{Admin, app, new_user, replica_caught_up, status_json};
use serde_json::Value;

async fn get(path: &str, token: &str) -> (u16, Value) {
    let app = app();
    let response = app.bearer_get(path, token).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn security_events_filter_and_page_newest_first() {
    let app = app();
    let Admin { id, stepped_up, .. } = app.admin().await;
    // app.admin() left signup, 2FA_ENABLED, refresh, backup-code and login events.
    let token = &stepped_up.access_token;
    let all_for_account: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE account_id = $1")
            .bind(id)
            .fetch_one(&api_tests::database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        all_for_account >= 4,
        "signup, 2FA enabled, backup code, login"
    );
    // Events are read from the replica: the user's events reach the admin, another
    // client, eventually (the product's promise), so this test waits.
    replica_caught_up().await;

    let mut seen = Vec::new();
    let mut path = format!("/api/admin/security/events?accountId={id}&limit=2");
    loop {
        let (status, page) = get(&path, token).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(items);
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/admin/security/events?accountId={id}&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(i64::try_from(seen.len()).unwrap_or(0), all_for_account);
    assert!(seen.iter().all(|e| e["accountId"] == id));
    let times: Vec<&str> = seen
        .iter()
        .filter_map(|e| e["createdAt"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    let (_, filtered) = get(
        &format!("/api/admin/security/events?accountId={id}&type=2FA_ENABLED"),
        token,
    )
    .await;
    let types: Vec<&str> = filtered["items"]
        .as_array()
        .map(|i| i.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["2FA_ENABLED"]);

    let (status, body) = get("/api/admin/security/events?cursor=eyJhIjoxfQ.AAAA", token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "a forged cursor"
    );
    let (status, _) = get("/api/admin/security/events?since=yesterday", token).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn security_stats_count_by_type_and_severity() {
    let app = app();
    let Admin { stepped_up, .. } = app.admin().await;
    let user = new_user();
    app.signup(&user).await;
    app.login(&user.username, "definitely the wrong password")
        .await;
    // Another client's events reach the admin's stats eventually (replica).
    replica_caught_up().await;
    let (status, stats) = get(
        "/api/admin/security/stats?window=24h",
        &stepped_up.access_token,
    )
    .await;
    assert_eq!(status, 200, "{stats}");
    assert!(stats["byType"]["SIGNUP"].as_i64().unwrap_or(0) >= 2);
    assert!(
        stats["byType"]["FAILED_LOGIN_ATTEMPT"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    );
    assert!(stats["bySeverity"]["warning"].as_i64().unwrap_or(0) >= 1);
    let by_type_total: i64 = stats["byType"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_i64).sum())
        .unwrap_or(0);
    assert_eq!(stats["total"].as_i64(), Some(by_type_total));
    let (status, _) = get(
        "/api/admin/security/stats?window=forever",
        &stepped_up.access_token,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn database_stats_show_both_pools_and_the_partitions() {
    let app = app();
    let Admin { stepped_up, .. } = app.admin().await;
    let (status, stats) = status_json(app.database_stats(&stepped_up.access_token).await).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (
            stats["writer"]["reachable"].as_bool(),
            stats["reader"]["reachable"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert!(stats["replicationLagSeconds"].is_number());
    assert!(stats["writer"]["size"].is_number() && stats["writer"]["idle"].is_number());
    assert!(stats["rowEstimates"]["accounts"].is_number(), "{stats}");
    let audit = stats["partitions"]["audit_log"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        audit
            .iter()
            .any(|p| p["name"] == "audit_log_default" && p["range"] == "DEFAULT"),
        "{audit:?}"
    );
    assert!(audit.iter().any(|p| {
        p["range"]
            .as_str()
            .is_some_and(|r| r.starts_with("FOR VALUES FROM"))
    }));
}

#[tokio::test]
async fn partition_runs_need_step_up_and_are_listed() {
    let app = app();
    let Admin {
        password_only,
        stepped_up,
        ..
    } = app.admin().await;
    let refused = app.run_partitions(&password_only.access_token).await;
    assert_eq!(refused.status(), 403);
    let ran = app.run_partitions(&stepped_up.access_token).await;
    assert_eq!(ran.status(), 200);
    let summary: Value = ran.json().await.unwrap_or(Value::Null);
    assert!(
        summary["created"].is_array() && summary["rowsInDefault"]["audit_log"].is_number(),
        "{summary}"
    );
    let (status, runs) = status_json(app.partition_runs(&stepped_up.access_token).await).await;
    assert_eq!(status, 200);
    assert!(!runs["items"].as_array().map(Vec::is_empty).unwrap_or(true));
}

#[tokio::test]
async fn non_admins_are_refused_everywhere() {
    let app = app();
    let user = app.signup(&new_user()).await;
    for path in [
        "/api/admin/security/events",
        "/api/admin/security/stats",
        "/api/admin/database/stats",
        "/api/admin/partitions",
    ] {
        let (status, body) = get(path, &user.access_token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("AUTHORIZATION_ERROR")),
            "{path}"
        );
    }
    let response = app
        .post("/api/admin/partitions/run")
        .bearer_auth(&user.access_token)
        .send_once()
        .await;
    assert_eq!(response.status(), 403);
}
