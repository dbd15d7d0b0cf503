//! The admin infrastructure routes end to end: `GET /api/admin/system/config` (every
//! setting in force with its source; no secret, key or password value of this stack
//! anywhere in the answer) and `GET /api/admin/migrations` (what `_sqlx_migrations`
//! holds, against the migrations this build embeds).

use api_tests::{Admin, app, database, require_env, status_json};
use reqwest::Method;
use serde_json::Value;

use crate::log_scan::stack_secrets;

fn setting<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["settings"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not in {body}"))
}

#[tokio::test]
async fn system_config_shows_each_setting_and_its_source_never_a_secret() {
    let app = app();
    let Admin { password_only, .. } = app.admin().await;
    let response = app.system_config(&password_only.access_token).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(body["function"], "admin", "{body}");

    // The URL in force, without its password; the stack's real one is in the env file.
    let url = setting(&body, "DATABASE_URL");
    assert_eq!(url["source"], "environment");
    assert_eq!(url["redacted"], true);
    let shown = url["value"].as_str().unwrap_or_default();
    assert!(shown.contains(":***@127.0.0.1:"), "{shown}");
    assert_ne!(shown, require_env("DATABASE_URL"));
    // Set by scripts/test.sh, and a default left alone.
    let reuse = setting(&body, "REFRESH_REUSE_INTERVAL_SECONDS");
    assert_eq!(
        (&reuse["value"], &reuse["source"], &reuse["default"]),
        (
            &Value::from("2"),
            &Value::from("environment"),
            &Value::from("10")
        )
    );
    let pool = setting(&body, "DB_MAX_CONNECTIONS");
    assert_eq!(
        (&pool["value"], &pool["source"]),
        (&Value::from("2"), &Value::from("default"))
    );
    assert_eq!(setting(&body, "METRICS_NAMESPACE")["value"], "BlueHarvest");
    // Secret names are shown (they are not secret); their values never.
    assert_eq!(
        setting(&body, "APP_KEYS_SECRET_ID")["value"],
        require_env("APP_KEYS_SECRET_ID").as_str()
    );
    let secrets = stack_secrets().await;
    assert!(
        secrets.len() >= 6,
        "the password, the app keys and a PEM: {}",
        secrets.len()
    );
    let leaked: Vec<usize> = secrets
        .iter()
        .enumerate()
        .filter(|(_, secret)| text.contains(secret.as_str()))
        .map(|(i, _)| i)
        .collect();
    assert!(
        leaked.is_empty(),
        "{} of the stack's {} secret values appear in the answer (indexes {leaked:?})",
        leaked.len(),
        secrets.len()
    );
}

#[tokio::test]
async fn infrastructure_routes_are_for_admins_only() {
    let app = app();
    let moderator = app.account_with_role(3).await;
    for path in ["/api/admin/system/config", "/api/admin/migrations"] {
        let (status, body) = status_json(app.bearer_get(path, &moderator.access_token).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("AUTHORIZATION_ERROR")),
            "{path}"
        );
        let (status, _) = status_json(app.request(Method::GET, path, None, None).await).await;
        assert_eq!(status, 401, "{path}");
    }
}

#[tokio::test]
async fn migrations_list_what_is_applied_and_nothing_pending() {
    let app = app();
    let Admin { password_only, .. } = app.admin().await;
    let (status, body) = status_json(app.migrations(&password_only.access_token).await).await;
    assert_eq!(status, 200, "{body}");
    let applied = body["applied"].as_array().cloned().unwrap_or_default();
    let embedded: Vec<_> = shared::MIGRATOR.iter().collect();
    assert_eq!(applied.len(), embedded.len(), "{body}");
    let rows: Vec<(i64, time::OffsetDateTime)> =
        sqlx::query_as("SELECT version, installed_on FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    for ((shown, migration), (version, installed_on)) in applied.iter().zip(&embedded).zip(&rows) {
        assert_eq!(shown["version"], *version);
        assert_eq!(shown["version"], migration.version);
        assert_eq!(shown["description"], migration.description.as_ref());
        let hex: String = migration
            .checksum
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(shown["checksum"], hex.as_str());
        assert_eq!(shown["checksumMatches"], true);
        assert_eq!(shown["success"], true);
        let installed = time::OffsetDateTime::parse(
            shown["installedOn"].as_str().unwrap_or_default(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|e| panic!("{e}: {shown}"));
        assert_eq!(installed.unix_timestamp(), installed_on.unix_timestamp());
        assert!(
            shown["executionTimeMs"]
                .as_f64()
                .is_some_and(|ms| ms >= 0.0)
        );
    }
    assert_eq!(body["pending"], Value::Array(vec![]));
    assert_eq!(body["upToDate"], true);
}
