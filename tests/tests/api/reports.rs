//! Reports end to end through cargo lambda watch: users file them, moderators list,
//! read and resolve them, only admins delete them (the permission matrix's Reports
//! row); targets must exist; enums and lengths are validated.

use api_tests::{account_id, app, database, error_paths, new_user, replica_caught_up, status_json};
use reqwest::Method;
use serde_json::{Value, json};

const USER: i16 = 1;
const ADMIN: i16 = 2;
const MODERATOR: i16 = 3;

/// Something to report: a user with a profile, a post and a comment on it.
struct Targets {
    account: i64,
    profile: i64,
    post: i64,
    comment: i64,
}

async fn targets() -> Targets {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let profile = app.create_profile(&owner.access_token, "Writer").await;
    let post = app
        .create_post(&owner.access_token, profile, "Questionable")
        .await;
    let (status, comment) = status_json(
        app.new_comment(
            post,
            &owner.access_token,
            json!({"body": "Buy cheap watches"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{comment}");
    Targets {
        account: account_id(&owner),
        profile,
        post,
        comment: comment["id"].as_i64().unwrap_or_default(),
    }
}

async fn report(token: &str, body: Value) -> (u16, Value) {
    status_json(app().new_report(token, body).await).await
}

async fn filed(token: &str, target_type: &str, target_id: i64) -> Value {
    let (status, created) = report(
        token,
        json!({"targetType": target_type, "targetId": target_id, "reason": "spam"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created
}

fn id_of(report: &Value) -> i64 {
    report["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {report}"))
}

async fn patch(token: &str, id: i64, body: Value) -> (u16, Value) {
    status_json(app().patch_report(id, token, body).await).await
}

async fn get(token: &str, path: &str) -> (u16, Value) {
    status_json(app().bearer_get(path, token).await).await
}

#[tokio::test]
async fn users_file_reports_on_every_target_type_but_cannot_see_them() {
    let app = app();
    let t = targets().await;
    let reporter = app.account_with_role(USER).await;
    let token = &reporter.access_token;

    let (status, created) = report(
        token,
        json!({"targetType": "post", "targetId": t.post, "reason": "harassment", "details": "  Targets a neighbour  "}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = id_of(&created);
    assert_eq!(created["reporterId"], account_id(&reporter));
    assert_eq!(
        (
            &created["targetType"],
            &created["targetId"],
            &created["reason"],
            &created["details"],
            &created["status"],
        ),
        (
            &json!("post"),
            &json!(t.post),
            &json!("harassment"),
            &json!("Targets a neighbour"),
            &json!("open")
        )
    );
    for empty in ["resolutionNote", "resolvedBy", "resolvedAt"] {
        assert_eq!(created[empty], Value::Null, "{empty}: {created}");
    }
    for (kind, target) in [
        ("comment", t.comment),
        ("profile", t.profile),
        ("account", t.account),
    ] {
        let other = filed(token, kind, target).await;
        assert_eq!(other["details"], Value::Null);
    }

    // The matrix gives users C only.
    for (method, path, body) in [
        (Method::GET, "/api/reports".to_owned(), None),
        (Method::GET, format!("/api/reports/{id}"), None),
        (
            Method::PATCH,
            format!("/api/reports/{id}"),
            Some(json!({"status": "dismissed"})),
        ),
        (Method::DELETE, format!("/api/reports/{id}"), None),
    ] {
        let (status, body) =
            status_json(app.request(method.clone(), &path, Some(token), body).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("AUTHORIZATION_ERROR")),
            "{method} {path}"
        );
    }
    let denied: Vec<String> = sqlx::query_scalar(
        "SELECT details->>'action' FROM audit_log
         WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1 AND details->>'resource' = 'Report'
         ORDER BY id",
    )
    .bind(account_id(&reporter))
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(denied, ["Read", "Read", "Update", "Delete"]);
    let status: String = sqlx::query_scalar("SELECT status FROM reports WHERE id = $1")
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, "open", "the denied PATCH changed nothing");

    let (status, _) = status_json(
        app.request(
            Method::POST,
            "/api/reports",
            None,
            Some(json!({"targetType": "post", "targetId": t.post, "reason": "spam"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401, "anonymous callers cannot report");
}

#[tokio::test]
async fn moderators_review_and_resolve_and_only_admins_delete() {
    let app = app();
    let t = targets().await;
    let reporter = app.signup(&new_user()).await;
    let id = id_of(&filed(&reporter.access_token, "comment", t.comment).await);
    let moderator = app.account_with_role(MODERATOR).await;
    let token = &moderator.access_token;

    // The moderator reads a report another client filed: through the replica, which
    // has it eventually (read-your-writes is the reporter's), so this test waits.
    replica_caught_up().await;
    let (status, one) = get(token, &format!("/api/reports/{id}")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["targetType"], "comment");
    let (status, open) = get(token, "/api/reports?status=open&limit=1000").await;
    assert_eq!(status, 200, "{open}");
    let items = open["items"].as_array().cloned().unwrap_or_default();
    assert!(items.iter().any(|r| r["id"] == id), "listed: {open}");
    assert!(items.iter().all(|r| r["status"] == "open"));

    let (status, reviewing) = patch(token, id, json!({"status": "reviewing"})).await;
    assert_eq!(status, 200, "{reviewing}");
    assert_eq!(
        (&reviewing["status"], &reviewing["resolvedBy"]),
        (&json!("reviewing"), &Value::Null)
    );

    let (status, resolved) = patch(
        token,
        id,
        json!({"status": "resolved", "resolutionNote": "Comment removed"}),
    )
    .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolutionNote"], "Comment removed");
    assert_eq!(resolved["resolvedBy"], account_id(&moderator));
    assert!(resolved["resolvedAt"].is_string(), "{resolved}");

    // Another moderator editing only the note keeps who resolved it.
    let second = app.account_with_role(MODERATOR).await;
    let (status, noted) = patch(
        &second.access_token,
        id,
        json!({"status": "resolved", "resolutionNote": "Also warned the author"}),
    )
    .await;
    assert_eq!(status, 200, "{noted}");
    assert_eq!(
        (&noted["resolvedBy"], &noted["resolvedAt"]),
        (&resolved["resolvedBy"], &resolved["resolvedAt"])
    );
    assert_eq!(noted["resolutionNote"], "Also warned the author");

    let (status, reopened) = patch(token, id, json!({"status": "open"})).await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(
        (&reopened["resolvedBy"], &reopened["resolvedAt"]),
        (&Value::Null, &Value::Null),
        "reopening clears the resolution"
    );
    assert_eq!(reopened["resolutionNote"], "Also warned the author");

    let (status, dismissed) = patch(
        token,
        id,
        json!({"status": "dismissed", "resolutionNote": ""}),
    )
    .await;
    assert_eq!(status, 200, "{dismissed}");
    assert_eq!(
        dismissed["resolutionNote"],
        Value::Null,
        "an empty note clears it"
    );
    assert_eq!(dismissed["resolvedBy"], account_id(&moderator));

    let audited: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM audit_log
         WHERE event_type = 'REPORT_UPDATED' AND details->>'reportId' = $1::text ORDER BY id",
    )
    .bind(id)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let transitions: Vec<(String, String)> = audited
        .iter()
        .map(|d| {
            (
                d["from"].as_str().unwrap_or_default().to_owned(),
                d["to"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("open", "reviewing"),
        ("reviewing", "resolved"),
        ("resolved", "resolved"),
        ("resolved", "open"),
        ("open", "dismissed"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(transitions, expected);

    let denied = app.delete_report(id, token).await;
    assert_eq!(denied.status(), 403, "moderators cannot delete reports");

    let admin = app.account_with_role(ADMIN).await;
    let deleted = app.delete_report(id, &admin.access_token).await;
    assert_eq!(deleted.status(), 204);
    let kept: bool = sqlx::query_scalar("SELECT deleted FROM reports WHERE id = $1")
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(kept, "soft delete keeps the row");
    // The admin who deleted it reads at once that it is gone (read-your-writes).
    let (status, _) = get(&admin.access_token, &format!("/api/reports/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = patch(token, id, json!({"status": "open"})).await;
    assert_eq!(status, 404);
    let again = app.delete_report(id, &admin.access_token).await;
    assert_eq!(again.status(), 404);
    let (_, all) = get(&admin.access_token, "/api/reports?limit=1000").await;
    assert!(
        all["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|r| r["id"] != id)),
        "a deleted report is not listed"
    );
}

#[tokio::test]
async fn bad_reports_are_400_with_the_field() {
    let app = app();
    let t = targets().await;
    let token = &app.signup(&new_user()).await.access_token;
    let cases = [
        (
            json!({"targetType": "post", "targetId": t.post, "reason": "rude"}),
            "reason",
        ),
        (
            json!({"targetType": "user", "targetId": t.account, "reason": "spam"}),
            "targetType",
        ),
        (
            json!({"targetType": "post", "targetId": i64::MAX, "reason": "spam"}),
            "targetId",
        ),
        (
            json!({"targetType": "comment", "targetId": t.post + 1_000_000, "reason": "spam"}),
            "targetId",
        ),
        (
            json!({"targetType": "post", "targetId": t.post, "reason": "other", "details": "x".repeat(2_001)}),
            "details",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = report(token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(error_paths(&error), [field], "{error}");
    }
    let (status, _) = report(
        token,
        json!({"targetType": "post", "targetId": t.post, "reason": "spam", "status": "resolved"}),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");

    // Deleted targets do not exist any more; a comment on a deleted post neither.
    let owner_token = {
        let owner = app.signup(&new_user()).await;
        let profile = app.create_profile(&owner.access_token, "Writer").await;
        let post = app
            .create_post(&owner.access_token, profile, "Soon gone")
            .await;
        let (_, comment) = status_json(
            app.new_comment(
                post,
                &owner.access_token,
                json!({"body": "on a doomed post"}),
            )
            .await,
        )
        .await;
        let deleted = app.delete_post(post, &owner.access_token).await;
        assert_eq!(deleted.status(), 204);
        (post, comment["id"].as_i64().unwrap_or_default())
    };
    for (kind, target) in [("post", owner_token.0), ("comment", owner_token.1)] {
        let (status, error) = report(
            token,
            json!({"targetType": kind, "targetId": target, "reason": "spam"}),
        )
        .await;
        assert_eq!(
            (status, error_paths(&error)),
            (400, vec!["targetId"]),
            "deleted {kind}"
        );
    }
}

#[tokio::test]
async fn report_lists_are_filtered_and_keyset_paged() {
    let app = app();
    let t = targets().await;
    let reporter = app.signup(&new_user()).await;
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(id_of(
            &filed(&reporter.access_token, "account", t.account).await,
        ));
    }
    let moderator = app.account_with_role(MODERATOR).await;
    let token = &moderator.access_token;
    let (status, _) = patch(token, mine[0], json!({"status": "resolved"})).await;
    assert_eq!(status, 200);
    // No wait: the moderator's own write came after the reports were filed, and its
    // reads reflect everything up to it.

    // Walk every page (other suites add reports too) and check ours come once each.
    let mut seen = Vec::new();
    let mut path = "/api/reports?limit=2".to_owned();
    let mut first_cursor = None;
    loop {
        let (status, page) = get(token, &path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(items.iter().filter_map(|r| r["id"].as_i64()));
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                first_cursor.get_or_insert_with(|| cursor.to_owned());
                path = format!("/api/reports?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    let ours: Vec<i64> = seen
        .iter()
        .copied()
        .filter(|id| mine.contains(id))
        .collect();
    let mut newest_first = mine.clone();
    newest_first.reverse();
    assert_eq!(ours, newest_first, "each of ours once, newest first");
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no report on two pages");

    let (_, resolved) = get(token, "/api/reports?status=resolved&limit=1000").await;
    let items = resolved["items"].as_array().cloned().unwrap_or_default();
    assert!(items.iter().all(|r| r["status"] == "resolved"));
    assert!(items.iter().any(|r| r["id"] == mine[0]));
    assert!(items.iter().all(|r| r["id"] != mine[1]));

    let (status, _) = get(token, "/api/reports?status=closed").await;
    assert_eq!(status, 400, "unknown status");
    let cursor = first_cursor.unwrap_or_default();
    let (body, tag) = cursor.split_once('.').unwrap_or_default();
    let flipped = if tag.starts_with('A') { "B" } else { "A" };
    let (status, error) = get(
        token,
        &format!("/api/reports?cursor={body}.{flipped}{}", &tag[1..]),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "a tampered cursor"
    );
    let (status, _) = patch(token, mine[1], json!({"status": "closed"})).await;
    assert_eq!(status, 400);
    let (status, _) = patch(
        token,
        mine[1],
        json!({"status": "resolved", "resolutionNote": "x".repeat(2_001)}),
    )
    .await;
    assert_eq!(status, 400);
}
