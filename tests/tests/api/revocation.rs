//! Changes take effect on the very next request (issue #16): an access token issued
//! before a role change, an account deletion, a logout-all, a password change or a
//! session revocation is refused at once (401), not 15 minutes later; the last admin
//! stays; and a change whose audit event cannot be written does not happen.

use api_tests::{Session, account_id, app, database, new_user, status_json, token_claims};
use futures_util::future::join;
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// A user's post, for moderators to act on.
async fn someone_elses_post() -> i64 {
    let app = app();
    let author = app.signup(&new_user()).await;
    let profile = app.create_profile(&author.access_token, "Author").await;
    app.create_post(&author.access_token, profile, "Moderated")
        .await
}

fn edit(title: &str) -> Value {
    json!({"content": {"title": title, "body": "<p>Edited by a moderator, maybe.</p>"}})
}

#[tokio::test]
async fn a_demoted_moderators_old_token_is_refused_at_once_and_a_refresh_brings_the_new_role() {
    let app = app();
    let admin = app.admin().await;
    let moderator = app.account_with_role(3).await;
    let post = someone_elses_post().await;
    let before = app
        .patch_post(post, &moderator.access_token, edit("Moderated once"))
        .await;
    assert_eq!(before.status(), 200, "moderators edit others' posts");

    let demoted = app
        .put_role(
            account_id(&moderator),
            &admin.stepped_up.access_token,
            json!({"roleId": 1}),
        )
        .await;
    assert_eq!(demoted.status(), 200);

    let (status, body) = status_json(
        app.patch_post(post, &moderator.access_token, edit("Moderated twice"))
            .await,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (401, "AUTHENTICATION_ERROR"),
        "{body}"
    );
    let refreshed = Session::from_response(app.refresh(&moderator).await).await;
    assert_eq!(token_claims(&refreshed.access_token)["roleId"], 1);
    let (status, body) = status_json(
        app.patch_post(post, &refreshed.access_token, edit("Moderated thrice"))
            .await,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, "AUTHORIZATION_ERROR"),
        "{body}"
    );
}

#[tokio::test]
async fn a_deleted_admins_and_a_deleted_users_old_tokens_are_refused_at_once() {
    let app = app();
    let (admin, doomed_admin) = join(app.admin(), app.admin()).await;
    let user = app.signup(&new_user()).await;
    let events = "/api/admin/security/events?limit=1";
    let before = app
        .bearer_get(events, &doomed_admin.password_only.access_token)
        .await;
    assert_eq!(before.status(), 200);
    let report = json!({"targetType": "post", "targetId": 1, "reason": "spam"});

    for id in [doomed_admin.id, account_id(&user)] {
        let deleted = app.delete_account(id, &admin.stepped_up.access_token).await;
        assert_eq!(deleted.status(), 204);
    }
    let (status, body) = status_json(
        app.bearer_get(events, &doomed_admin.password_only.access_token)
            .await,
    )
    .await;
    assert_eq!(status, 401, "the deleted admin reads the audit log: {body}");
    let (status, body) = status_json(app.new_report(&user.access_token, report).await).await;
    assert_eq!(status, 401, "the deleted user files a report: {body}");
}

#[tokio::test]
async fn session_revoke_password_change_and_logout_all_end_old_access_tokens() {
    let app = app();
    let user = new_user();
    let first = app.signup(&user).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(Session::from_response(app.login(&user.username, &user.password).await).await);
    }
    let me = |session: &Session| {
        let token = session.access_token.clone();
        async move { app.me(&token).await.status().as_u16() }
    };
    for session in [&first, &others[0], &others[1]] {
        assert_eq!(me(session).await, 200);
    }

    // One session revoked from another: its access token stops, the others go on.
    let sid = token_claims(&others[0].access_token)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let revoked = app
        .bearer_delete(&format!("/api/auth/sessions/{sid}"), &first.access_token)
        .await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(me(&others[0]).await, 401, "the revoked session's token");
    assert_eq!(me(&first).await, 200);

    // A password change ends every other session's access token.
    let new_password = format!("{} again", user.password);
    let changed = app
        .bearer_post(
            "/api/auth/password",
            &first.access_token,
            json!({"currentPassword": user.password, "newPassword": new_password}),
        )
        .await;
    assert_eq!(changed.status(), 204);
    assert_eq!(me(&others[1]).await, 401, "another session's token");
    assert_eq!(me(&first).await, 200, "the session that changed it");

    // Logout-all ends them all, its own included.
    let out = app
        .bearer_post("/api/auth/logout-all", &first.access_token, json!({}))
        .await;
    assert_eq!(out.status(), 204);
    assert_eq!(me(&first).await, 401);
}

#[tokio::test]
async fn enabling_two_factor_ends_the_other_sessions_access_tokens() {
    let app = app();
    let user = new_user();
    let first = app.signup(&user).await;
    let other = Session::from_response(app.login(&user.username, &user.password).await).await;
    app.enable_two_factor(&first, &user.password).await;
    assert_eq!(app.me(&other.access_token).await.status(), 401);
    assert_eq!(app.me(&first.access_token).await.status(), 200);
}

/// Every live admin but these, demoted in the database (serial: the test needs to
/// know every admin there is).
async fn only_admins(keep: &[i64]) {
    sqlx::query("UPDATE accounts SET role_id = 1 WHERE role_id = 2 AND NOT (id = ANY($1))")
        .bind(keep)
        .execute(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn live_admins(among: &[i64]) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT id FROM accounts WHERE role_id = 2 AND NOT deleted AND id = ANY($1) ORDER BY id",
    )
    .bind(among)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn serial_two_admins_removing_each_other_at_once_leave_one_and_the_last_admin_stays() {
    let app = app();
    let (a, b) = join(app.admin(), app.admin()).await;
    only_admins(&[a.id, b.id]).await;
    let both = [a.id, b.id];

    // Demoting each other at the same instant.
    let demote = |actor: &Session, target: i64| {
        let token = actor.access_token.clone();
        async move { status_json(app.put_role(target, &token, json!({"roleId": 1})).await).await }
    };
    let (by_a, by_b) = join(demote(&a.stepped_up, b.id), demote(&b.stepped_up, a.id)).await;
    let statuses = [by_a.0, by_b.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one demotion: {by_a:?} {by_b:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401 || *s == 409),
        "{by_a:?} {by_b:?}"
    );
    let left = live_admins(&both).await;
    assert_eq!(left.len(), 1, "one admin left: {left:?}");
    let (last, other) = if left[0] == a.id { (&a, &b) } else { (&b, &a) };

    // The last admin cannot delete itself (nor demote itself).
    let (status, body) = status_json(
        app.delete_account(last.id, &last.stepped_up.access_token)
            .await,
    )
    .await;
    assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
    assert_eq!(body["error"]["details"]["reason"], "last_admin");
    let (status, _) = status_json(
        app.put_role(last.id, &last.stepped_up.access_token, json!({"roleId": 1}))
            .await,
    )
    .await;
    assert_eq!(status, 400);

    // Promoted again, the two delete each other at the same instant.
    let promoted = app
        .put_role(
            other.id,
            &last.stepped_up.access_token,
            json!({"roleId": 2}),
        )
        .await;
    assert_eq!(promoted.status(), 200);
    let other_again = Session::from_response(app.refresh(&other.stepped_up).await).await;
    let delete = |actor: &Session, target: i64| {
        let token = actor.access_token.clone();
        async move { status_json(app.delete_account(target, &token).await).await }
    };
    let (by_last, by_other) = join(
        delete(&last.stepped_up, other.id),
        delete(&other_again, last.id),
    )
    .await;
    let statuses = [by_last.0, by_other.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "exactly one deletion: {by_last:?} {by_other:?}"
    );
    assert_eq!(live_admins(&both).await.len(), 1, "one admin left");
}

/// Serial: adds a trigger to the audit log.
#[tokio::test]
async fn serial_a_change_whose_audit_event_cannot_be_written_is_rolled_back() {
    let app = app();
    let admin = app.admin().await;
    let db = database().await;
    for statement in [
        "CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.details ->> 'key' = 'audit.refused' OR NEW.details ->> 'targetAccountId' = '-42' THEN
             RAISE EXCEPTION 'the audit log refuses this event (test)';
           END IF;
           RETURN NEW;
         END $$",
        "DROP TRIGGER IF EXISTS test_refuse_audit ON audit_log",
        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log
         FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()",
    ] {
        sqlx::query(statement)
            .execute(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (status, body) = status_json(
        app.put_setting(
            "audit.refused",
            &admin.stepped_up.access_token,
            json!({"value": {"on": true}}),
        )
        .await,
    )
    .await;
    sqlx::query("DROP TRIGGER test_refuse_audit ON audit_log")
        .execute(&db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status, code(&body)),
        (503, "SERVICE_UNAVAILABLE"),
        "{body}"
    );
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM system_settings WHERE key = 'audit.refused'")
            .fetch_one(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kept, 0, "the setting was written without its audit event");

    // And once the log takes events again, the same change goes through.
    let again = app
        .put_setting(
            "audit.refused",
            &admin.stepped_up.access_token,
            json!({"value": {"on": true}}),
        )
        .await;
    assert_eq!(again.status(), 200);
}
