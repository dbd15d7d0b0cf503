//! System settings end to end through cargo lambda watch: only admins read them, only
//! stepped-up admins write them, every write is audited as SETTINGS_CHANGED without
//! the value; keys and values are validated.

use api_tests::{Admin, app, database, error_paths, status_json};
use reqwest::Method;
use serde_json::{Value, json};

/// A key no other test uses (the suites share one database).
fn fresh_key(name: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("test_{}.{name}", &id[..12])
}

fn path(key: &str) -> String {
    format!("/api/admin/settings/{key}")
}

async fn put(token: &str, key: &str, body: Value) -> (u16, Value) {
    status_json(app().put_setting(key, token, body).await).await
}

async fn get(token: &str, path: &str) -> (u16, Value) {
    status_json(app().bearer_get(path, token).await).await
}

async fn audited(key: &str) -> Vec<(Option<i64>, String, Value)> {
    sqlx::query_as(
        "SELECT account_id, severity, details FROM audit_log
         WHERE event_type = 'SETTINGS_CHANGED' AND details->>'key' = $1 ORDER BY id",
    )
    .bind(key)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn users_and_moderators_can_neither_read_nor_write_settings() {
    let app = app();
    let key = fresh_key("forbidden");
    for role in [1, 3] {
        let session = app.account_with_role(role).await;
        let token = &session.access_token;
        for (method, path, body) in [
            (Method::GET, "/api/admin/settings".to_owned(), None),
            (Method::GET, path(&key), None),
            (Method::PUT, path(&key), Some(json!({"value": 1}))),
            (Method::DELETE, path(&key), None),
        ] {
            let (status, body) =
                status_json(app.request(method.clone(), &path, Some(token), body).await).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (403, Some("AUTHORIZATION_ERROR")),
                "role {role}: {method} {path}"
            );
        }
        let denials: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1",
        )
        .bind(api_tests::account_id(&session))
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(denials, 4, "role {role}: every refusal is audited");
    }
    let (status, _) = status_json(
        app.request(Method::GET, "/api/admin/settings", None, None)
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM system_settings WHERE key = $1")
        .bind(&key)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn writes_need_step_up_and_reads_do_not() {
    let app = app();
    let Admin {
        password_only,
        stepped_up,
        ..
    } = app.admin().await;
    let key = fresh_key("step_up");
    let (status, body) = put(&password_only.access_token, &key, json!({"value": true})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("STEP_UP_REQUIRED")),
        "{body}"
    );
    let (status, _) = put(&stepped_up.access_token, &key, json!({"value": true})).await;
    assert_eq!(status, 200);
    let deleted = app.delete_setting(&key, &password_only.access_token).await;
    assert_eq!(deleted.status(), 403, "delete needs step-up too");

    // The admin's other session reads its write at once: read-your-writes holds per
    // account, whichever of its sessions wrote.
    let (status, body) = get(&password_only.access_token, &path(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"], true);
    assert_eq!(audited(&key).await.len(), 1, "only the stepped-up write");
}

#[tokio::test]
async fn a_stepped_up_admin_puts_reads_lists_and_deletes_a_setting() {
    let app = app();
    let admin = app.admin().await;
    let token = &admin.stepped_up.access_token;
    let key = fresh_key("site.banner");
    let value = json!({"text": "Harvest festival on Saturday", "colors": ["gold", "green"], "secret_like": "s3cr3t"});

    let (status, created) = put(token, &key, json!({ "value": value })).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (&created["key"], &created["value"], &created["updatedBy"]),
        (&json!(key), &value, &json!(admin.id))
    );
    assert!(created["updatedAt"].is_string());

    let (status, read) = get(token, &path(&key)).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, created);

    // A second key that sorts before the first, to see the order.
    let earlier = key.replace("site.banner", "a_first");
    let (status, _) = put(token, &earlier, json!({"value": null})).await;
    assert_eq!(status, 200, "null is a JSON value too");
    let (status, replaced) = put(token, &key, json!({"value": [1, 2, 3]})).await;
    assert_eq!(status, 200);
    assert_eq!(replaced["value"], json!([1, 2, 3]));
    let (status, list) = get(token, "/api/admin/settings").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["nextCursor"], Value::Null);
    let keys: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["key"].as_str())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "ordered by key");
    let ours: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["key"] == json!(key) || s["key"] == json!(earlier))
        .collect();
    assert_eq!(
        ours.iter().map(|s| s["value"].clone()).collect::<Vec<_>>(),
        [Value::Null, json!([1, 2, 3])]
    );

    let deleted = app.delete_setting(&key, token).await;
    assert_eq!(deleted.status(), 204);
    let (status, body) = get(token, &path(&key)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert_eq!(app.delete_setting(&key, token).await.status(), 404);

    let audit = audited(&key).await;
    let expected = [
        json!({"key": key, "action": "put", "created": true}),
        json!({"key": key, "action": "put", "created": false}),
        json!({"key": key, "action": "delete"}),
    ];
    assert_eq!(
        audit.iter().map(|(_, _, d)| d.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(
        audit
            .iter()
            // Critical: every settings change alerts (template.yaml's SecurityEvent filters).
            .all(|(account, severity, _)| *account == Some(admin.id) && severity == "critical")
    );
    assert!(
        audit
            .iter()
            .all(|(_, _, d)| !d.to_string().contains("s3cr3t")),
        "values never reach the audit log"
    );
}

#[tokio::test]
async fn bad_keys_and_values_are_400() {
    let app = app();
    let admin = app.admin().await;
    let token = &admin.stepped_up.access_token;
    for bad in [
        "Upper",
        "9starts_with_digit",
        "has-dash",
        "_underscore",
        "x%27%3B%20DROP%20TABLE%20system_settings%3B%20--",
    ] {
        let (status, body) = put(token, bad, json!({"value": 1})).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(error_paths(&body), ["key"], "{bad}: {body}");
        let (status, _) = get(token, &path(bad)).await;
        assert_eq!(status, 400, "GET {bad}");
    }
    let too_long = format!("a{}", "b".repeat(100));
    let (status, _) = put(token, &too_long, json!({"value": 1})).await;
    assert_eq!(status, 400);

    let key = fresh_key("big");
    let (status, body) = put(token, &key, json!({"value": "x".repeat(64 * 1024)})).await;
    assert_eq!((status, error_paths(&body)), (400, vec!["value"]), "{body}");
    let (status, _) = put(token, &key, json!({"value": "x".repeat(60 * 1024)})).await;
    assert_eq!(status, 200, "under 64 KiB is fine");
    for body in [json!({}), json!({"value": 1, "updatedBy": 1})] {
        let (status, error) = put(token, &key, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
    }
    assert_eq!(
        audited(&key).await.len(),
        1,
        "refused writes are not audited"
    );
}

/// Serial: adds a trigger to the settings table.
///
/// The database rolls a write back to resolve a conflict (a serialization failure or
/// a deadlock): the whole transaction runs again and the client sees one success.
#[tokio::test]
async fn serial_a_write_the_database_rolled_back_for_a_conflict_runs_again() {
    let app = app();
    let admin = app.admin().await;
    let key = fresh_key("retried");
    let db = database().await;
    let statements = [
        "DROP SEQUENCE IF EXISTS test_conflict_attempts".to_owned(),
        "CREATE SEQUENCE test_conflict_attempts".to_owned(),
        format!(
            "CREATE OR REPLACE FUNCTION test_conflict_once() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.key = '{key}' AND nextval('test_conflict_attempts') = 1 THEN
                 RAISE EXCEPTION 'a conflict, forced by the test' USING ERRCODE = 'serialization_failure';
               END IF;
               RETURN NEW;
             END $$"
        ),
        "DROP TRIGGER IF EXISTS test_conflict_once ON system_settings".to_owned(),
        "CREATE TRIGGER test_conflict_once BEFORE INSERT OR UPDATE ON system_settings
         FOR EACH ROW EXECUTE FUNCTION test_conflict_once()"
            .to_owned(),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (status, body) = put(&admin.stepped_up.access_token, &key, json!({"value": 1})).await;
    sqlx::query("DROP TRIGGER test_conflict_once ON system_settings")
        .execute(&db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200, "{body}");
    let attempts: i64 = sqlx::query_scalar("SELECT last_value FROM test_conflict_attempts")
        .fetch_one(&db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attempts, 2, "one rolled-back attempt, one that committed");
    let events = audited(&key).await;
    assert_eq!(
        events.len(),
        1,
        "the event of the attempt that committed: {events:?}"
    );
}
