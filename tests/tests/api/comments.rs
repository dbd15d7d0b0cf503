//! Comments end to end through cargo lambda watch: create, list (anonymous, keyset
//! paged), edit and soft delete through the permission matrix; IDOR, moderation,
//! sanitizing, injection strings, tampered cursors, comments on deleted posts.

use api_tests::{Session, account_id, app, database, error_paths, new_user, status_json};
use reqwest::Method;
use serde_json::{Value, json};

/// A new user and a post of theirs.
async fn user_with_post() -> (Session, i64) {
    let app = app();
    let session = app.signup(&new_user()).await;
    let profile = app.create_profile(&session.access_token, "Writer").await;
    let post = app
        .create_post(&session.access_token, profile, "Comment on me")
        .await;
    (session, post)
}

async fn comment(token: &str, post: i64, body: &str) -> (u16, Value) {
    status_json(
        app()
            .new_comment(post, token, json!({ "body": body }))
            .await,
    )
    .await
}

/// Creates a comment and returns its JSON; panics unless 201.
async fn commented(token: &str, post: i64, body: &str) -> Value {
    let (status, created) = comment(token, post, body).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_i64())
        .collect()
}

/// `2026-11-22T09:22:46.26344Z`: date, `T`, time, fraction, UTC.
fn is_rfc3339(stamp: &str) -> bool {
    let b = stamp.as_bytes();
    b.len() >= 20
        && (b[4], b[7], b[10], b[13], b[16]) == (b'-', b'-', b'T', b':', b':')
        && stamp.ends_with('Z')
}

fn id_of(comment: &Value) -> i64 {
    comment["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {comment}"))
}

async fn stored_body(id: i64) -> String {
    sqlx::query_scalar("SELECT body FROM comments WHERE id = $1")
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_comment_is_created_listed_edited_and_soft_deleted() {
    let app = app();
    let (_author, post) = user_with_post().await;
    let commenter = app.signup(&new_user()).await;
    let token = &commenter.access_token;

    let created = commented(token, post, "<p>Nice <strong>harvest</strong>!</p>").await;
    let id = id_of(&created);
    assert_eq!(created["postId"], post);
    assert_eq!(created["accountId"], account_id(&commenter));
    assert_eq!(created["body"], "<p>Nice <strong>harvest</strong>!</p>");
    for field in ["createdAt", "updatedAt"] {
        let stamp = created[field].as_str().unwrap_or_default();
        assert!(is_rfc3339(stamp), "{field} is RFC 3339: {created}");
    }
    let stored_post: (i64, bool) = sqlx::query_as(
        "SELECT c.post_id, c.post_created_at = p.created_at FROM comments c
         JOIN posts p ON p.id = c.post_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored_post, (post, true), "post_created_at is the post's");

    // The commenter reads its comment at once (read-your-writes).
    let (status, page) = app.list_comments_as(post, "", token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([created]));
    assert_eq!(page["nextCursor"], Value::Null);

    let (status, edited) = status_json(
        app.patch_comment(id, token, json!({"body": "Edited text"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (&edited["id"], &edited["body"], &edited["createdAt"]),
        (&created["id"], &json!("Edited text"), &created["createdAt"])
    );
    assert!(edited["updatedAt"].as_str() >= created["updatedAt"].as_str());

    let deleted = app.delete_comment(id, token).await;
    assert_eq!(deleted.status(), 204);
    let deleted_flag: bool = sqlx::query_scalar("SELECT deleted FROM comments WHERE id = $1")
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(deleted_flag, "soft delete keeps the row");
    let (status, body) =
        status_json(app.patch_comment(id, token, json!({"body": "again"})).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert_eq!(app.delete_comment(id, token).await.status(), 404);
    let (_, page) = app.list_comments_as(post, "", token).await;
    assert_eq!(page["items"], json!([]), "a deleted comment is not listed");
}

#[tokio::test]
async fn commenting_needs_a_token_and_a_valid_body() {
    let app = app();
    let (author, post) = user_with_post().await;
    let path = format!("/api/posts/{post}/comments");
    let (status, _) = status_json(
        app.request(Method::POST, &path, None, Some(json!({"body": "hi"})))
            .await,
    )
    .await;
    assert_eq!(status, 401, "anonymous callers only read");
    let (status, _) = status_json(
        app.request(Method::GET, &path, Some("not-a-token"), None)
            .await,
    )
    .await;
    assert_eq!(
        status, 401,
        "a bad token is refused, never read as anonymous"
    );

    let token = &author.access_token;
    for (body, path) in [
        (json!({"body": ""}), "body"),
        (json!({"body": "x".repeat(10_001)}), "body"),
        (json!({"body": "<script>alert(1)</script>"}), "body"),
        (json!({"body": "hi", "accountId": 1}), ""),
        (json!({}), ""),
    ] {
        let (status, error) = status_json(app.new_comment(post, token, body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["code"], "VALIDATION_ERROR");
        if !path.is_empty() {
            assert_eq!(error_paths(&error), [path], "{error}");
        }
    }
    let (status, _) = comment(token, i64::MAX, "on no post").await;
    assert_eq!(status, 404);
    let (status, _) = app.list_comments(i64::MAX, "").await;
    assert_eq!(status, 404);
    let (status, _) = status_json(
        app.bearer_patch(
            "/api/comments/9223372036854775807",
            token,
            json!({"body": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_user_cannot_edit_or_delete_anothers_comment() {
    let app = app();
    let (author, post) = user_with_post().await;
    let victim = commented(&author.access_token, post, "Mine").await;
    let id = id_of(&victim);
    let attacker = app.signup(&new_user()).await;

    let (status, body) = status_json(
        app.patch_comment(id, &attacker.access_token, json!({"body": "pwned"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("AUTHORIZATION_ERROR")),
        "{body}"
    );
    let deleted = app.delete_comment(id, &attacker.access_token).await;
    assert_eq!(deleted.status(), 403);
    assert_eq!(stored_body(id).await, "Mine", "the comment is untouched");
    let still_there: bool = sqlx::query_scalar("SELECT NOT deleted FROM comments WHERE id = $1")
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(still_there);

    let denials: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM audit_log
         WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1 ORDER BY id",
    )
    .bind(account_id(&attacker))
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        denials,
        [
            json!({"resource": "Comment", "action": "Update", "scope": "Other"}),
            json!({"resource": "Comment", "action": "Delete", "scope": "Other"}),
        ]
    );
}

#[tokio::test]
async fn moderators_and_admins_edit_and_delete_anyones_comment() {
    let app = app();
    let (author, post) = user_with_post().await;
    for role in [3, 2] {
        let moderator = app.account_with_role(role).await;
        let id = id_of(&commented(&author.access_token, post, "Rude words").await);
        let (status, edited) = status_json(
            app.patch_comment(
                id,
                &moderator.access_token,
                json!({"body": "[removed by a moderator]"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "role {role}: {edited}");
        assert_eq!(edited["body"], "[removed by a moderator]");
        assert_eq!(
            edited["accountId"],
            account_id(&author),
            "the author stays the author"
        );
        let deleted = app.delete_comment(id, &moderator.access_token).await;
        assert_eq!(deleted.status(), 204, "role {role}");
    }
}

#[tokio::test]
async fn html_is_sanitized_to_the_allow_list() {
    let app = app();
    let (author, post) = user_with_post().await;
    let token = &author.access_token;
    let cases = [
        ("<p>hi</p><script>alert('xss')</script>", "<p>hi</p>"),
        (r#"<img src="x" onerror="alert(1)">caption"#, "caption"),
        (r#"<p onclick="steal()">click</p>"#, "<p>click</p>"),
        (
            r#"<a href="javascript:alert(document.cookie)">link</a>"#,
            r#"<a rel="noopener noreferrer">link</a>"#,
        ),
        (
            r#"<iframe src="https://evil.example"></iframe><em>framed</em>"#,
            "<em>framed</em>",
        ),
        (
            r#"<a href="https://example.com" rel="opener" target="_blank" data-x="1">ok</a>"#,
            r#"<a href="https://example.com" target="_blank" rel="noopener noreferrer">ok</a>"#,
        ),
        (
            r#"<style>body{display:none}</style><object data="x"></object><embed src="y">text"#,
            "text",
        ),
    ];
    for (raw, clean) in cases {
        let created = commented(token, post, raw).await;
        assert_eq!(created["body"], clean, "{raw}");
        assert_eq!(
            stored_body(id_of(&created)).await,
            clean,
            "stored sanitized"
        );
    }
    // Edits are sanitized too.
    let id = id_of(&commented(token, post, "plain").await);
    let (_, edited) = status_json(
        app.patch_comment(
            id,
            token,
            json!({"body": "<b onmouseover=alert(1)>x</b><script>1</script>y"}),
        )
        .await,
    )
    .await;
    assert_eq!(edited["body"], "xy");
}

#[tokio::test]
async fn sql_injection_strings_are_stored_verbatim_and_harmless() {
    let app = app();
    let (author, post) = user_with_post().await;
    let payloads = [
        "'); DROP TABLE comments; --",
        "1' OR '1'='1",
        "\\'; DELETE FROM posts WHERE '1'='1'; --",
    ];
    let mut created = Vec::new();
    for payload in payloads {
        let comment = commented(&author.access_token, post, payload).await;
        assert_eq!(comment["body"], payload);
        created.push(id_of(&comment));
    }
    let (status, page) = app.list_comments_as(post, "", &author.access_token).await;
    assert_eq!(status, 200, "{page}");
    created.reverse();
    assert_eq!(ids(&page), created, "newest first, all still there");
    let posts_left: i64 = sqlx::query_scalar("SELECT count(*) FROM posts WHERE id = $1")
        .bind(post)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(posts_left, 1);
    // The path is typed: an injection string there is a 400, not a query.
    let (status, _) = status_json(app.get("/api/posts/1%20OR%201=1/comments").send().await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn pages_cover_every_comment_once_and_cursors_are_tamper_proof() {
    let app = app();
    let (author, post) = user_with_post().await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id_of(
            &commented(&author.access_token, post, &format!("comment {n}")).await,
        ));
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut query = "limit=2".to_owned();
    let mut cursor = None;
    loop {
        let (status, page) = app
            .list_comments_as(post, &query, &author.access_token)
            .await;
        assert_eq!(status, 200, "{page}");
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2);
        seen.extend(page_ids);
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => {
                cursor.get_or_insert_with(|| next.to_owned());
                query = format!("limit=2&cursor={next}");
            }
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "every comment once, newest first");
    assert_eq!(pages, 4);

    let cursor = cursor.unwrap_or_default();
    let (body, tag) = cursor.split_once('.').unwrap_or_default();
    // Another position with the old signature, a flipped signature, no signature.
    let forged_body = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        b"[4102444800000000,9223372036854775807]",
    );
    let flipped = if tag.starts_with('A') { "B" } else { "A" };
    for bad in [
        format!("{forged_body}.{tag}"),
        format!("{body}.{flipped}{}", &tag[1..]),
        body.to_owned(),
        "garbage".to_owned(),
    ] {
        let (status, error) = app
            .list_comments(post, &format!("limit=2&cursor={bad}"))
            .await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{bad}"
        );
    }
    let (status, _) = app.list_comments(post, "limit=2&unknown=1").await;
    assert_eq!(status, 400, "unknown query parameters are refused");
}

#[tokio::test]
async fn a_deleted_posts_comments_are_gone() {
    let app = app();
    let (author, post) = user_with_post().await;
    let id = id_of(&commented(&author.access_token, post, "Before the delete").await);
    let deleted = app.delete_post(post, &author.access_token).await;
    assert_eq!(deleted.status(), 204);

    let (status, body) = app.list_comments_as(post, "", &author.access_token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, _) = comment(&author.access_token, post, "After the delete").await;
    assert_eq!(status, 404);
    let (status, _) = status_json(
        app.patch_comment(id, &author.access_token, json!({"body": "still here?"}))
            .await,
    )
    .await;
    assert_eq!(status, 404, "a comment on a deleted post is 404 too");
    let moderator = app.account_with_role(3).await;
    let deleted = app.delete_comment(id, &moderator.access_token).await;
    assert_eq!(deleted.status(), 404);
}
