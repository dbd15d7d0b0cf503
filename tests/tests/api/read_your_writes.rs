//! Read-your-writes against a replica that replays 500 ms late (the test stack's
//! `recovery_min_apply_delay`): a client reads what it just wrote at once, with no wait,
//! whichever way it carries the guarantee — its access token (the account's last write
//! in DynamoDB), the `X-Consistency-Token` header, or the `__Host-bh_consistency`
//! cookie on an anonymous read — while a client with none of these reads the replica.

use api_tests::*;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

const ROUNDS: usize = 20;

/// How a client carries its guarantee to the read.
#[derive(Debug, Clone, Copy)]
enum Carrier {
    /// Reads with its access token and echoes nothing.
    Bearer,
    /// Reads anonymously, echoing the `X-Consistency-Token` header of the write.
    Header,
    /// Reads anonymously with the cookie the write set, as a browser does.
    Cookie,
}

/// A write's answer: status, body and what it handed back for consistency.
struct Written {
    status: u16,
    body: Value,
    header: Option<String>,
    cookie: Option<String>,
}

async fn write(method: Method, path: &str, token: &str, body: Option<Value>) -> Written {
    let app = app();
    let response = app.request(method, path, Some(token), body).await;
    let header = response
        .headers()
        .get("x-consistency-token")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let cookie = set_cookie(&response, "__Host-bh_consistency");
    let (status, body) = status_json(response).await;
    Written {
        status,
        body,
        header,
        cookie,
    }
}

/// Reads `path` right after `written`, carrying the guarantee the `carrier` way.
async fn read_back(path: &str, token: &str, written: &Written, carrier: Carrier) -> (u16, Value) {
    let app = app();
    let mut request = app.get(path);
    match carrier {
        Carrier::Bearer => request = request.bearer_auth(token),
        Carrier::Header => {
            let header = written
                .header
                .as_deref()
                .unwrap_or_else(|| panic!("no X-Consistency-Token"));
            request = request.header("x-consistency-token", header);
        }
        Carrier::Cookie => {
            let cookie = written
                .cookie
                .as_deref()
                .unwrap_or_else(|| panic!("no consistency cookie"));
            request = request.header("cookie", format!("__Host-bh_consistency={cookie}"));
        }
    }
    status_json(request.send().await).await
}

async fn author() -> (Session, i64) {
    let app = app();
    let session = app.signup(&new_user()).await;
    let profile = app.create_profile(&session.access_token, "Read Back").await;
    (session, profile)
}

fn new_post(profile: i64, title: &str) -> Value {
    json!({
        "content": {"title": title, "body": "<p>Written and read back at once.</p>"},
        "postTypeId": 1, "profileId": profile,
    })
}

/// One write then one read by the same client, for every carrier, `ROUNDS` times in
/// a row (a client's own requests follow one another); answers the misses.
async fn misses<W>(
    name: &str,
    carriers: &[Carrier],
    round: impl Fn(usize, Carrier) -> W,
) -> Vec<String>
where
    W: Future<Output = Option<String>>,
{
    let mut misses = Vec::new();
    for carrier in carriers {
        for i in 0..ROUNDS {
            if let Some(miss) = round(i, *carrier).await {
                misses.push(format!("{name}: {miss}"));
            }
        }
    }
    misses
}

#[tokio::test]
async fn an_author_reads_a_post_it_just_created_and_edited() {
    let (session, profile) = author().await;
    let token = session.access_token.as_str();
    let all = [Carrier::Bearer, Carrier::Header, Carrier::Cookie];
    let created = misses("create post → GET", &all, |i, carrier| async move {
        let written = write(
            Method::POST,
            "/api/posts",
            token,
            Some(new_post(profile, &format!("Fresh {i}"))),
        )
        .await;
        assert_eq!(written.status, 201, "{}", written.body);
        let id = written.body["id"].as_i64().unwrap_or_default();
        let (status, body) = read_back(&format!("/api/posts/{id}"), token, &written, carrier).await;
        (status != 200).then(|| format!("{carrier:?} round {i}: {status} {body}"))
    })
    .await;
    let edited = misses("edit post → GET", &all, |i, carrier| async move {
        let written = write(
            Method::POST,
            "/api/posts",
            token,
            Some(new_post(profile, "Before")),
        )
        .await;
        let id = written.body["id"].as_i64().unwrap_or_default();
        let title = format!("After {i} {carrier:?}");
        let body =
            json!({"content": {"title": title, "body": "<p>Edited and read back at once.</p>"}});
        let written = write(
            Method::PATCH,
            &format!("/api/posts/{id}"),
            token,
            Some(body),
        )
        .await;
        assert_eq!(written.status, 200, "{}", written.body);
        let (status, body) = read_back(&format!("/api/posts/{id}"), token, &written, carrier).await;
        (body["content"]["title"] != json!(title))
            .then(|| format!("{carrier:?} round {i}: {status} {body}"))
    })
    .await;
    let deleted = misses("delete post → GET", &all, |i, carrier| async move {
        let written = write(
            Method::POST,
            "/api/posts",
            token,
            Some(new_post(profile, "Doomed")),
        )
        .await;
        let id = written.body["id"].as_i64().unwrap_or_default();
        let written = write(Method::DELETE, &format!("/api/posts/{id}"), token, None).await;
        assert_eq!(written.status, 204);
        let (status, body) = read_back(&format!("/api/posts/{id}"), token, &written, carrier).await;
        (status != 404).then(|| format!("{carrier:?} round {i}: {status} {body}"))
    })
    .await;
    let failures: Vec<_> = [created, edited, deleted].concat();
    assert!(
        failures.is_empty(),
        "{} misses:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_author_finds_its_new_post_in_its_own_list() {
    let (session, profile) = author().await;
    let token = session.access_token.as_str();
    let account = account_id(&session);
    let all = [Carrier::Bearer, Carrier::Header, Carrier::Cookie];
    let failures = misses("create post → list", &all, |i, carrier| async move {
        let written = write(
            Method::POST,
            "/api/posts",
            token,
            Some(new_post(profile, &format!("Listed {i}"))),
        )
        .await;
        let id = written.body["id"].clone();
        let path = format!("/api/posts?accountId={account}&limit=1000");
        let (status, body) = read_back(&path, token, &written, carrier).await;
        let listed = body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|p| p["id"] == id));
        (!listed).then(|| format!("{carrier:?} round {i}: {status} {}", body["error"]))
    })
    .await;
    assert!(
        failures.is_empty(),
        "{} misses:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn comments_profiles_and_accounts_read_back_at_once() {
    let app = app();
    let (session, profile) = author().await;
    let token = session.access_token.as_str();
    let account = account_id(&session);
    let post = app.create_post(token, profile, "Commented").await;
    // Profiles and accounts are not readable anonymously: the bearer carries it there.
    let bearer = [Carrier::Bearer];
    let all = [Carrier::Bearer, Carrier::Header, Carrier::Cookie];
    let comments = misses("comment → list", &all, |i, carrier| async move {
        let text = format!("<p>comment {i} {carrier:?}</p>");
        let written = write(
            Method::POST,
            &format!("/api/posts/{post}/comments"),
            token,
            Some(json!({"body": text})),
        )
        .await;
        assert_eq!(written.status, 201, "{}", written.body);
        let id = written.body["id"].clone();
        let (status, body) = read_back(
            &format!("/api/posts/{post}/comments?limit=1000"),
            token,
            &written,
            carrier,
        )
        .await;
        let listed = body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["id"] == id));
        (!listed).then(|| format!("{carrier:?} round {i}: {status} {}", body["error"]))
    })
    .await;
    let profiles = misses("rename profile → GET", &bearer, |i, carrier| async move {
        let name = format!("Renamed {i}");
        let written = write(
            Method::PATCH,
            &format!("/api/profiles/{profile}"),
            token,
            Some(json!({"name": name})),
        )
        .await;
        assert_eq!(written.status, 200, "{}", written.body);
        let (status, body) = read_back(
            &format!("/api/profiles/{profile}"),
            token,
            &written,
            carrier,
        )
        .await;
        (body["name"] != json!(name)).then(|| format!("{carrier:?} round {i}: {status} {body}"))
    })
    .await;
    let accounts = misses("PATCH account → GET", &bearer, |i, carrier| async move {
        let first = format!(
            "Ada{}",
            char::from(b'a' + u8::try_from(i % 26).unwrap_or(0))
        );
        let written = write(
            Method::PATCH,
            &format!("/api/accounts/{account}"),
            token,
            Some(json!({"firstName": first})),
        )
        .await;
        assert_eq!(written.status, 200, "{}", written.body);
        let (status, body) = read_back(
            &format!("/api/accounts/{account}"),
            token,
            &written,
            carrier,
        )
        .await;
        let seen = body.get("account").unwrap_or(&body)["firstName"].clone();
        (seen != json!(first)).then(|| format!("{carrier:?} round {i}: {status} {body}"))
    })
    .await;
    let failures: Vec<_> = [comments, profiles, accounts].concat();
    assert!(
        failures.is_empty(),
        "{} misses:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_are_ignored_not_errors() {
    let app = app();
    let (session, profile) = author().await;
    let written = write(
        Method::POST,
        "/api/posts",
        &session.access_token,
        Some(new_post(profile, "Token")),
    )
    .await;
    let id = written.body["id"].as_i64().unwrap_or_default();
    let token = written.header.clone().unwrap_or_else(|| panic!("no token"));
    let (body, tag) = token.split_once('.').unwrap_or_else(|| panic!("{token}"));
    let bad = [
        format!("{body}x.{tag}"),
        format!("{body}.{}", tag.chars().rev().collect::<String>()),
        "e30.AAAA".to_owned(),
        "not a token at all".to_owned(),
        "x".repeat(4096),
    ];
    for bad in bad {
        let response = app
            .get(&format!("/api/posts/{id}"))
            .header("x-consistency-token", &bad)
            .send()
            .await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 404, "{status} for {bad:.40}");
    }
}

/// Statement calls on one server for the post-by-id query.
async fn post_reads_on(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements
         WHERE query LIKE '%FROM posts p WHERE p.id = $1 AND NOT p.deleted%'",
    )
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn replica() -> sqlx::PgPool {
    sqlx::PgPool::connect(&require_env("DATABASE_URL_REPLICA"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Serial: counts statements on each server, which concurrent tests would disturb.
#[tokio::test]
async fn serial_the_author_reads_from_the_writer_and_everyone_else_from_the_replica() {
    let app = app();
    let (writer, replica) = (database().await, replica().await);
    let (session, profile) = author().await;
    // Precondition: the posts function reads from the replica (after another test
    // stopped it, an instance re-probes it every READER_RETRY_AFTER_MS, by design).
    let seed = app
        .create_post(&session.access_token, profile, "Seed")
        .await;
    // Anonymous reads of the seed need the replica to have it: other clients'
    // consistency is eventual, by design.
    replica_caught_up().await;
    eventually(
        "reads served by the replica",
        Duration::from_secs(30),
        || async {
            let before = post_reads_on(&replica).await;
            app.get_post(seed).await;
            (post_reads_on(&replica).await > before).then_some(())
        },
    )
    .await;
    let written = write(
        Method::POST,
        "/api/posts",
        &session.access_token,
        Some(new_post(profile, "Seen by whom")),
    )
    .await;
    let id = written.body["id"].as_i64().unwrap_or_default();
    let path = format!("/api/posts/{id}");

    let (on_writer, on_replica) = (post_reads_on(&writer).await, post_reads_on(&replica).await);
    let (status, _) = read_back(&path, &session.access_token, &written, Carrier::Bearer).await;
    assert_eq!(status, 200, "the author reads its post at once");
    assert_eq!(
        post_reads_on(&writer).await - on_writer,
        1,
        "the author's read went to the writer"
    );
    assert_eq!(post_reads_on(&replica).await - on_replica, 0);

    // Another client, with neither token nor account: the replica serves it, whether or
    // not it has replayed the post yet (it replays 500 ms late).
    let (on_writer, on_replica) = (post_reads_on(&writer).await, post_reads_on(&replica).await);
    let (status, _) = app.get_post(id).await;
    assert!(status == 404 || status == 200, "{status}");
    assert_eq!(
        post_reads_on(&replica).await - on_replica,
        1,
        "another client reads the replica"
    );
    assert_eq!(post_reads_on(&writer).await - on_writer, 0);
    // Another client's view is eventually consistent: it sees the post once the
    // replica has replayed it (the product promises no more to it).
    replica_caught_up().await;
    assert_eq!(app.get_post(id).await.0, 200);

    // A forged token does not send reads to the writer.
    let forged = written
        .header
        .clone()
        .unwrap_or_default()
        .replace('.', "x.");
    let on_writer = post_reads_on(&writer).await;
    let response = app
        .get(&path)
        .header("x-consistency-token", forged)
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        post_reads_on(&writer).await - on_writer,
        0,
        "a forged token is ignored"
    );
}

/// Serial: stops the replica.
#[tokio::test]
async fn serial_read_your_writes_holds_with_the_replica_stopped() {
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            stack("start-replica");
        }
    }
    let (session, profile) = author().await;
    stack("stop-replica");
    let _restart = Restart;
    for carrier in [Carrier::Bearer, Carrier::Header, Carrier::Cookie] {
        let written = write(
            Method::POST,
            "/api/posts",
            &session.access_token,
            Some(new_post(profile, "No replica")),
        )
        .await;
        assert_eq!(written.status, 201, "{}", written.body);
        let id = written.body["id"].as_i64().unwrap_or_default();
        let (status, body) = read_back(
            &format!("/api/posts/{id}"),
            &session.access_token,
            &written,
            carrier,
        )
        .await;
        assert_eq!(status, 200, "{carrier:?}: {body}");
    }
}

/// Serial: needs the stack to itself (nothing else may write while it idles).
///
/// After an idle spell, the first write reaches the replica and waits out its apply
/// delay; a replica-side `now() - pg_last_xact_replay_timestamp()` would call the idle
/// time lag and send every read to the writer. The writer-side measure does not.
#[tokio::test]
async fn serial_an_idle_spell_does_not_count_as_replica_lag() {
    let overrides = [
        ("REPLICA_MAX_LAG_SECONDS", "1"),
        ("READER_RETRY_AFTER_MS", "100"),
    ];
    let config = shared::config::Config::from_env_with(&overrides)
        .unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    let resilience = &config.resilience;
    let aws = shared::state::aws_sdk_config(&config.aws).await;
    let breakers = shared::resilience::Breakers::new(resilience);
    let db = shared::db::Db::connect(&config.database, resilience, &breakers, &aws)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let writer = database().await;
    // Start from a replica with nothing left to replay: what follows measures lag
    // over an idle spell, not leftovers of other tests.
    replica_caught_up().await;
    // The idle spell itself is the scenario: three times the lag limit.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query(
        "UPDATE accounts SET updated_at = updated_at WHERE id = (SELECT min(id) FROM accounts)",
    )
    .execute(&writer)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let on_replica = db
        .read(|mut conn| async move {
            sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
                .fetch_one(&mut *conn)
                .await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = db.replica_status().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        on_replica,
        "the read went to the writer: lag measured as {:?}",
        status.lag
    );
    assert!(status.lag < Duration::from_secs(1), "{:?}", status.lag);
}
