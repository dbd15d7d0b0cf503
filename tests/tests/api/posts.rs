//! Posts end-to-end through cargo lambda watch: authors, validation, sanitizing,
//! injection, IDOR, keyset pagination, search, the read/write split. Tests named
//! `serial_` stop the replica or count statements, so they run alone after the rest.

use api_tests::{
    Session, account_id, app, database, error_paths, new_user, replica_caught_up, stack,
    status_json,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn user_with_profile() -> (Session, i64) {
    let app = app();
    let session = app.signup(&new_user()).await;
    let profile = app.create_profile(&session.access_token, "Writer").await;
    (session, profile)
}

fn post_body(title: &str, body: &str, profile_id: i64) -> Value {
    json!({"content": {"title": title, "body": body}, "postTypeId": 1, "profileId": profile_id})
}

#[tokio::test]
async fn a_post_is_created_with_its_authors_and_read_back_by_anyone() {
    let app = app();
    let (author, primary) = user_with_profile().await;
    let co_author = app.create_profile(&author.access_token, "Writer").await;
    let body = json!({
        "content": {"title": "Harvest notes", "body": "<p>The <em>first</em> field is ready.</p>"},
        "postTypeId": 1, "profileId": primary, "coAuthors": [co_author],
    });
    let (status, created) = status_json(app.new_post(&author.access_token, body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["accountId"], account_id(&author));
    assert_eq!(created["content"]["title"], "Harvest notes");
    assert_eq!(
        created["authors"],
        json!([
            {"profileId": primary, "name": "Writer", "isPrimary": true},
            {"profileId": co_author, "name": "Writer", "isPrimary": false},
        ])
    );
    // The author reads its post at once (read-your-writes), as it was answered.
    let id = created["id"].as_i64().unwrap_or_default();
    let (status, read) = app.get_post_as(id, &author.access_token).await;
    assert_eq!((status, &read), (200, &created), "the author's read");
}

#[tokio::test]
async fn anonymous_callers_cannot_write() {
    let app = app();
    let (status, body) = status_json(
        app.request(
            Method::POST,
            "/api/posts",
            None,
            Some(post_body("t", "long enough", 1)),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("AUTHENTICATION_ERROR"))
    );
}

#[tokio::test]
async fn invalid_posts_are_refused_with_every_field_named() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let body =
        json!({"content": {"title": "", "body": "short"}, "postTypeId": 0, "profileId": profile});
    let (status, error) = status_json(app.new_post(&author.access_token, body).await).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        error_paths(&error),
        ["postTypeId", "content.title", "content.body"]
    );

    let event = json!({"content": {"title": "Fair", "body": "Bring baskets and boots"}, "postTypeId": 4, "profileId": profile});
    let (status, error) = status_json(app.new_post(&author.access_token, event).await).await;
    assert_eq!(
        (status, error_paths(&error)),
        (400, vec!["content.eventDate"])
    );

    let unknown_type = json!({"content": {"title": "x", "body": "long enough body"}, "postTypeId": 99, "profileId": profile});
    let (status, error) = status_json(app.new_post(&author.access_token, unknown_type).await).await;
    assert_eq!((status, error_paths(&error)), (400, vec!["postTypeId"]));

    let extra = json!({"content": {"title": "x", "body": "long enough body"}, "postTypeId": 1, "profileId": profile, "admin": true});
    let (status, _) = status_json(app.new_post(&author.access_token, extra).await).await;
    assert_eq!(status, 400, "unknown fields are refused");

    let too_many: Vec<i64> = (0..11).map(|i| profile + 1000 + i).collect();
    let crowded = json!({"content": {"title": "x", "body": "long enough body"}, "postTypeId": 1, "profileId": profile, "coAuthors": too_many});
    let (status, error) = status_json(app.new_post(&author.access_token, crowded).await).await;
    assert_eq!((status, error_paths(&error)), (400, vec!["coAuthors"]));
}

#[tokio::test]
async fn an_event_post_keeps_its_date() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let event = json!({"content": {"title": "Fair", "body": "Bring baskets and boots", "eventDate": "2026-12-31T10:00:00Z"}, "postTypeId": 4, "profileId": profile});
    let (status, post) = status_json(app.new_post(&author.access_token, event).await).await;
    assert_eq!(
        (status, &post["content"]["eventDate"]),
        (201, &json!("2026-12-31T10:00:00Z"))
    );
}

#[tokio::test]
async fn another_accounts_profile_cannot_be_the_primary_author() {
    let app = app();
    let (attacker, _) = user_with_profile().await;
    let (_victim, victims_profile) = user_with_profile().await;
    let (status, body) = status_json(
        app.new_post(
            &attacker.access_token,
            post_body("Mine now", "posted as someone else", victims_profile),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("AUTHORIZATION_ERROR"))
    );
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1",
    )
    .bind(account_id(&attacker))
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn only_the_author_or_a_moderator_edits_and_deletes() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let (stranger, _) = user_with_profile().await;
    let id = app
        .create_post(&author.access_token, profile, "Original")
        .await;

    let edit = json!({"content": {"title": "Defaced"}});
    let (status, _) = status_json(
        app.patch_post(id, &stranger.access_token, edit.clone())
            .await,
    )
    .await;
    assert_eq!(status, 403, "IDOR: editing another's post by id");
    let (status, _) = status_json(app.delete_post(id, &stranger.access_token).await).await;
    assert_eq!(status, 403, "IDOR: deleting another's post by id");

    let (status, edited) = status_json(
        app.patch_post(
            id,
            &author.access_token,
            json!({"content": {"title": "Edited"}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &edited["content"]["title"]),
        (200, &json!("Edited"))
    );
    assert_eq!(
        edited["content"]["body"], "<p>Some text for the post body.</p>",
        "kept"
    );

    let moderator = app.account_with_role(3).await;
    let (status, _) = status_json(
        app.patch_post(
            id,
            &moderator.access_token,
            json!({"content": {"title": "Moderated"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "moderators edit anyone's post");
    let response = app.delete_post(id, &moderator.access_token).await;
    assert_eq!(response.status(), 204);

    assert_eq!(
        app.get_post_as(id, &moderator.access_token).await.0,
        404,
        "soft-deleted posts are gone"
    );
    let (status, _) = status_json(app.patch_post(id, &author.access_token, edit).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn html_is_sanitized_to_the_allow_list() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let payload = r#"<p onmouseover="steal()">Hello <script>alert(document.cookie)</script><img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe><a href="javascript:alert(1)">x</a><a href="https://ok.example" data-track="1">ok</a><style>body{}</style></p>"#;
    let (status, post) = status_json(
        app.new_post(&author.access_token, post_body("XSS", payload, profile))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{post}");
    assert_eq!(
        post["content"]["body"],
        r#"<p>Hello <a rel="noopener noreferrer">x</a><a href="https://ok.example" rel="noopener noreferrer">ok</a></p>"#
    );
}

#[tokio::test]
async fn sql_injection_strings_are_stored_verbatim() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let title = "'); DROP TABLE posts; --";
    let body = "1' OR '1'='1 UNION SELECT password_hash FROM accounts --";
    let (status, post) = status_json(
        app.new_post(&author.access_token, post_body(title, body, profile))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{post}");
    assert_eq!(
        (
            post["content"]["title"].as_str(),
            post["content"]["body"].as_str()
        ),
        (Some(title), Some(body))
    );
    let (status, found) = app
        .list_posts_as(
            &format!("accountId={}&q={}", account_id(&author), "DROP%20TABLE"),
            &author.access_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        found["items"][0]["content"]["title"], title,
        "searchable, and the table is still there"
    );
}

#[tokio::test]
async fn pages_walk_every_post_once_and_cursors_cannot_be_forged() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(
            app.create_post(&author.access_token, profile, &format!("Page post {i}"))
                .await,
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = format!("accountId={}&limit=3", account_id(&author));
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.list_posts_as(&query, &author.access_token).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["id"].as_i64()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(
        (seen, pages),
        (made, 3),
        "newest first, each once, over three pages"
    );

    let (status, first) = app
        .list_posts_as(
            &format!("accountId={}&limit=3", account_id(&author)),
            &author.access_token,
        )
        .await;
    assert_eq!(status, 200);
    let next = first["nextCursor"].as_str().unwrap_or_default();
    let (body, tag) = next.split_once('.').unwrap_or_default();
    let mut forged = body.to_owned();
    forged.replace_range(0..1, if body.starts_with('W') { "X" } else { "W" });
    for bad in [
        format!("{forged}.{tag}"),
        "garbage".to_owned(),
        format!("{body}.AAAA"),
    ] {
        let (status, error) = app.list_posts(&format!("cursor={bad}")).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_limit_is_clamped_and_search_is_bounded() {
    let app = app();
    let (status, page) = app.list_posts("limit=5000").await;
    assert_eq!(status, 200);
    assert!(
        page["items"]
            .as_array()
            .is_some_and(|items| items.len() <= 1000)
    );
    let (status, page) = app.list_posts("limit=0").await;
    assert!(
        status == 200
            && page["items"]
                .as_array()
                .is_some_and(|items| items.len() <= 1),
        "{page}"
    );
    let (status, _) = app.list_posts(&format!("q={}", "a".repeat(201))).await;
    assert_eq!(status, 400);
    let (status, _) = app.list_posts("limit=abc").await;
    assert_eq!(status, 400);
    // PostgreSQL text cannot hold NUL: a client error, not a 500.
    let (status, error) = app.list_posts("q=a%00b").await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
}

#[tokio::test]
async fn search_finds_words_in_titles_and_bodies() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    let word = format!(
        "zucchini{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let id = app
        .create_post(&author.access_token, profile, &format!("About {word}"))
        .await;
    app.create_post(&author.access_token, profile, "Unrelated")
        .await;
    let (status, found) = app
        .list_posts_as(&format!("q={word}"), &author.access_token)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = found["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_i64())
        .collect();
    assert_eq!(ids, [id]);
}

/// Which server a statement count is taken on.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    Writer,
    Replica,
}

/// Statements the app ran on one server since `pg_stat_statements` was last read,
/// leaving out the readings themselves and the replica probes (reachability on the
/// reader, lag on the writer), which run every READER_RETRY_AFTER_MS, not per request.
/// On the writer the stack's poller also sweeps the mail outbox, in transactions of
/// its own, which a run once caught inside a measured list request: there the sweep's
/// statements and all transaction control (BEGIN, COMMIT, ROLLBACK; a sweep can
/// straddle a reading) are left out. The list must run nothing on the writer, so no
/// statement of its own can hide that way; on the replica everything counts,
/// transaction control too.
async fn statements(pool: &sqlx::PgPool, server: Server) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
         WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_is_in_recovery%'
           AND query NOT LIKE '%pg_last_wal_replay_lsn%' AND query NOT LIKE '%pg_current_wal%'
           AND query NOT LIKE '%pg_stat_replication%' AND query NOT LIKE '%to_regproc%'
           AND NOT ($1 AND (query LIKE '%mail_outbox%'
                            OR upper(query) IN ('BEGIN', 'COMMIT', 'ROLLBACK')))",
    )
    .bind(server == Server::Writer)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn serial_a_page_of_posts_with_authors_is_one_query() {
    let app = app();
    let (author, profile) = user_with_profile().await;
    for i in 0..3 {
        app.create_post(&author.access_token, profile, &format!("Counted {i}"))
            .await;
    }
    // Anonymous pages read the replica, which sees another client's posts eventually:
    // the product promises no more to them, so this test waits for it.
    replica_caught_up().await;
    let writer = database().await;
    let replica = sqlx::PgPool::connect(&api_tests::require_env("DATABASE_URL_REPLICA"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Measured once the reads go to the replica again (an earlier serial test may have
    // stopped it; reads use the writer until the next probe) and the pools are warm.
    let counts = api_tests::eventually(
        "a list request served by the replica",
        std::time::Duration::from_secs(30),
        || async {
            let before = (
                statements(&writer, Server::Writer).await,
                statements(&replica, Server::Replica).await,
            );
            let (status, page) = app.list_posts("limit=20").await;
            let after = (
                statements(&writer, Server::Writer).await,
                statements(&replica, Server::Replica).await,
            );
            assert_eq!(status, 200, "{page}");
            assert!(
                page["items"]
                    .as_array()
                    .is_some_and(|items| items.len() >= 3)
            );
            let counts = (after.0 - before.0, after.1 - before.1);
            (counts.1 > 0).then_some(counts)
        },
    )
    .await;
    assert_eq!(
        counts,
        (0, 1),
        "one statement on the replica, none on the writer"
    );
}

#[tokio::test]
async fn serial_posts_are_read_and_written_with_the_replica_stopped() {
    let app = app();
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            stack("start-replica");
        }
    }
    let (author, profile) = user_with_profile().await;
    let id = app
        .create_post(&author.access_token, profile, "Before the outage")
        .await;
    let _restore = Restore;
    stack("stop-replica");
    let (status, post) = app.get_post(id).await;
    assert_eq!(
        (status, post["id"].as_i64()),
        (200, Some(id)),
        "read from the writer"
    );
    let (status, page) = app
        .list_posts(&format!("accountId={}", account_id(&author)))
        .await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let during = app
        .create_post(&author.access_token, profile, "During the outage")
        .await;
    assert_eq!(app.get_post(during).await.0, 200);
}
