//! The profiles function end to end: CRUD, ownership through the permission matrix
//! (IDOR attempts are 403 and audited; moderators moderate), keyset paging by account,
//! validation, and soft deletion (404 from then on).

use api_tests::{account_id, app, database, error_paths, new_user, replica_caught_up, status_json};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::types::time::OffsetDateTime;

/// An RFC 3339 UTC time of a response (`2026-11-22T09:24:09.66632Z`), with its
/// fraction padded to nanoseconds so that two of them compare as the instants do.
fn instant(value: &Value) -> String {
    let text = value.as_str().unwrap_or_default();
    let stamp = text
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not an RFC 3339 UTC time: {text:?}"));
    let (seconds, fraction) = stamp.split_once('.').unwrap_or((stamp, ""));
    assert!(
        seconds.len() == 19 && &seconds[10..11] == "T" && fraction.len() <= 9,
        "not an RFC 3339 time: {text:?}"
    );
    format!("{seconds}.{fraction:0<9}Z")
}

async fn get(path: &str, token: &str) -> (u16, Value) {
    status_json(app().bearer_get(path, token).await).await
}

/// The PERMISSION_DENIED events of `account` for this action on profiles.
async fn denials(account: i64, action: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED'
           AND account_id = $1 AND details ->> 'resource' = 'Profile' AND details ->> 'action' = $2",
    )
    .bind(account)
    .bind(action)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn create_read_update_and_soft_delete() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let token = &owner.access_token;
    let (status, created) = status_json(
        app.new_profile(
            token,
            json!({"name": "  Weekend gardener ", "details": {"bio": "tomatoes", "links": ["a"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap_or_default();
    assert_eq!(created["accountId"], account_id(&owner));
    assert_eq!(created["name"], "Weekend gardener", "trimmed");
    assert_eq!(
        created["details"],
        json!({"bio": "tomatoes", "links": ["a"]})
    );
    assert_eq!(
        instant(&created["createdAt"]),
        instant(&created["updatedAt"])
    );

    let (status, read) = get(&format!("/api/profiles/{id}"), token).await;
    assert_eq!((status, &read), (200, &created));

    let (status, renamed) = status_json(
        app.patch_profile(id, token, json!({"name": "Gardener"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Gardener");
    assert_eq!(
        renamed["details"], created["details"],
        "absent fields are kept"
    );
    assert!(instant(&renamed["updatedAt"]) > instant(&created["updatedAt"]));

    let (status, replaced) = status_json(
        app.patch_profile(id, token, json!({"details": {"bio": "only this"}}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        replaced["details"],
        json!({"bio": "only this"}),
        "replaced, not merged"
    );
    assert_eq!(replaced["name"], "Gardener");

    let deleted = app.delete_profile(id, token).await;
    assert_eq!(deleted.status(), 204);
    let (flag, at): (bool, Option<OffsetDateTime>) =
        sqlx::query_as("SELECT deleted, deleted_at FROM profiles WHERE id = $1")
            .bind(id)
            .fetch_one(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(flag && at.is_some(), "soft: the row stays, marked deleted");

    let (status, body) = get(&format!("/api/profiles/{id}"), token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let patch = app.patch_profile(id, token, json!({"name": "x"})).await;
    assert_eq!(patch.status(), 404);
    assert_eq!(app.delete_profile(id, token).await.status(), 404);
    let (_, list) = get(
        &format!("/api/profiles?accountId={}", account_id(&owner)),
        token,
    )
    .await;
    assert_eq!(list["items"], json!([]), "deleted profiles are not listed");
}

#[tokio::test]
async fn details_default_to_an_empty_object() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let (status, body) = status_json(
        app.new_profile(&owner.access_token, json!({"name": "Plain"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["details"], json!({}));
}

#[tokio::test]
async fn another_users_profile_is_read_only_and_attempts_are_audited() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let intruder = app.signup(&new_user()).await;
    let id = app.create_profile(&owner.access_token, "Mine").await;
    let intruder_id = account_id(&intruder);

    // Another client's profile reaches the intruder through the replica eventually:
    // the product promises read-your-writes to the writer only, so this test waits.
    replica_caught_up().await;
    let (status, read) = get(&format!("/api/profiles/{id}"), &intruder.access_token).await;
    assert_eq!(
        (status, read["name"].as_str()),
        (200, Some("Mine")),
        "others read"
    );

    let (status, body) = status_json(
        app.patch_profile(id, &intruder.access_token, json!({"name": "Hijacked"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("AUTHORIZATION_ERROR"))
    );
    assert_eq!(denials(intruder_id, "Update").await, 1);

    let (status, body) = status_json(app.delete_profile(id, &intruder.access_token).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("AUTHORIZATION_ERROR"))
    );
    assert_eq!(denials(intruder_id, "Delete").await, 1);

    let (name, deleted): (String, bool) =
        sqlx::query_as("SELECT name, deleted FROM profiles WHERE id = $1")
            .bind(id)
            .fetch_one(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((name.as_str(), deleted), ("Mine", false), "nothing changed");
}

#[tokio::test]
async fn moderators_and_admins_edit_and_delete_others_profiles() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    for role in [3, 2] {
        let staff = app.account_with_role(role).await;
        let id = app.create_profile(&owner.access_token, "Spammy name").await;
        let (status, body) = status_json(
            app.patch_profile(id, &staff.access_token, json!({"name": "Cleaned up"}))
                .await,
        )
        .await;
        assert_eq!(status, 200, "role {role}: {body}");
        assert_eq!(body["name"], "Cleaned up");
        assert_eq!(body["accountId"], account_id(&owner), "still the owner's");
        let deleted = app.delete_profile(id, &staff.access_token).await;
        assert_eq!(deleted.status(), 204, "role {role}");
    }
}

#[tokio::test]
async fn anonymous_callers_get_401() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let id = app.create_profile(&owner.access_token, "Private-ish").await;
    for (method, path, body) in [
        (Method::GET, "/api/profiles".to_owned(), None),
        (Method::GET, format!("/api/profiles/{id}"), None),
        (
            Method::POST,
            "/api/profiles".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PATCH,
            format!("/api/profiles/{id}"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/api/profiles/{id}"), None),
    ] {
        let (status, body) =
            status_json(app.request(method.clone(), &path, None, body).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("AUTHENTICATION_ERROR")),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn one_accounts_profiles_page_newest_first_each_once() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let reader = app.signup(&new_user()).await;
    // Someone else's profile must not show up under this account. Written first: the
    // owner's reads below reflect everything up to its own last write.
    app.create_profile(&reader.access_token, "Not the owner's")
        .await;
    let mut made = Vec::new();
    for n in 0..7 {
        made.push(
            app.create_profile(&owner.access_token, &format!("Profile {n}"))
                .await,
        );
    }

    let base = format!("/api/profiles?accountId={}&limit=3", account_id(&owner));
    let mut path = base.clone();
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        let (status, page) = get(&path, &owner.access_token).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 3);
        seen.extend(items.iter().filter_map(|p| p["id"].as_i64()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    made.reverse();
    assert_eq!(seen, made, "every profile once, newest first");

    let (status, body) = get(
        &format!("{base}&cursor=eyJhIjoxfQ.AAAA"),
        &reader.access_token,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "a forged cursor"
    );
    let (status, _) = get("/api/profiles?owner=1", &reader.access_token).await;
    assert_eq!(status, 400, "unknown query parameters are refused");
}

#[tokio::test]
async fn invalid_bodies_are_400_with_every_field_named() {
    let app = app();
    let owner = app.signup(&new_user()).await;
    let token = &owner.access_token;
    let (status, body) = status_json(
        app.new_profile(token, json!({"name": " ", "details": [1, 2]}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    assert_eq!(error_paths(&body), ["name", "details"]);

    let big = json!({"name": "ok", "details": {"bio": "x".repeat(17 * 1024)}});
    let (status, body) = status_json(app.new_profile(token, big).await).await;
    assert_eq!((status, error_paths(&body)), (400, vec!["details"]));
    let long = json!({"name": "n".repeat(101)});
    let (status, body) = status_json(app.new_profile(token, long).await).await;
    assert_eq!((status, error_paths(&body)), (400, vec!["name"]));

    let (status, _) = status_json(
        app.new_profile(token, json!({"name": "ok", "accountId": 1}))
            .await,
    )
    .await;
    assert_eq!(
        status, 400,
        "an unknown field (choosing the owner) is refused"
    );

    let id = app.create_profile(token, "Valid").await;
    let (status, body) =
        status_json(app.patch_profile(id, token, json!({"details": null})).await).await;
    assert_eq!((status, error_paths(&body)), (400, vec!["details"]));
    let (status, _) = status_json(
        app.patch_profile(id, token, json!({"deleted": false}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
}
