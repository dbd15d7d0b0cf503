//! The rate limiter against the local stack's DynamoDB (dynalite), driven in-process
//! through the shared HTTP stack with API Gateway events, so each test picks its own
//! client IP (`requestContext.http.sourceIp`) and its own low limits.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};
use shared::{
    AppState,
    auth::access,
    config::Config,
    http::HttpService,
    ratelimit::{Tier, limited},
    store::families::Seen,
};
use tower::ServiceExt;

/// Fixed windows roll over at their boundary; an hour-long window keeps a burst of
/// requests inside one window (a 60 s window would split one about 1% of the time).
const LONG_GLOBAL_WINDOW: (&str, &str) = ("RATE_LIMIT_GLOBAL_WINDOW_SECONDS", "3600");

async fn state(overrides: &[(&str, &str)]) -> Arc<AppState> {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the suite with `make test` (it starts the stack)"
    );
    let config =
        Config::from_env_with(overrides).unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    AppState::from_config(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Routes with no dependency of their own, so only the limiter decides.
/// `POST /api/attempt?ok=true|false` plays an auth route that succeeds or fails.
fn app(state: &Arc<AppState>) -> HttpService {
    let attempt = |axum::extract::Query(q): axum::extract::Query<
        std::collections::HashMap<String, String>,
    >| async move {
        if q.get("ok").is_some_and(|ok| ok == "true") {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    };
    let routes = Router::new()
        .route("/api/ping", limited(get(|| async { "pong" }), state, &[]))
        .route("/api/attempt", limited(post(attempt), state, &[Tier::Auth]))
        .route(
            "/api/posts",
            limited(
                post(|| async { StatusCode::CREATED }),
                state,
                &[Tier::PostCreate],
            ),
        )
        .with_state(state.clone());
    shared::http::function(routes, state)
}

/// A client IP no other test (or earlier run against the same stack) uses.
fn fresh_ip() -> String {
    let bytes = uuid::Uuid::new_v4();
    let b = bytes.as_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

async fn send(
    app: &HttpService,
    method: &str,
    path_and_query: &str,
    ip: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/apigw-unknown-route.json"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut event: Value = serde_json::from_str(&template).unwrap_or_else(|e| panic!("{e}"));
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    if !query.is_empty() {
        let pairs: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(pairs);
    }
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["sourceIp"] = json!(ip);
    for (name, value) in headers {
        event["headers"][*name] = json!(value);
    }
    let request =
        lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn header(reply: &Reply, name: &str) -> String {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

// Exactness rests on DynamoDB's atomic conditional writes. The stack serves DynamoDB
// from dynalite, which applies each conditional write whole (tests/tests/api/
// dynamodb_exactness.rs proves it under the parallel suites' load). moto, which served
// it before (and still can: BH_LOCAL_DYNAMODB=moto), evaluates a condition and applies
// the update without a lock and once let an 11th of 10 through under load; these stay
// in the serial step so that comparison still holds.
#[tokio::test]
async fn serial_three_times_the_global_limit_concurrently_admits_exactly_the_limit() {
    let state = state(&[("RATE_LIMIT_GLOBAL_MAX", "10"), LONG_GLOBAL_WINDOW]).await;
    let app = app(&state);
    let ip = fresh_ip();
    let replies =
        futures_util::future::join_all((0..30).map(|_| send(&app, "GET", "/api/ping", &ip, &[])))
            .await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((admitted, limited), (10, 20));
}

#[tokio::test]
async fn serial_three_times_the_auth_limit_concurrently_admits_exactly_the_limit() {
    let state = state(&[("RATE_LIMIT_AUTH_MAX", "5")]).await;
    let app = app(&state);
    let ip = fresh_ip();
    let replies = futures_util::future::join_all(
        (0..15).map(|_| send(&app, "POST", "/api/attempt?ok=false", &ip, &[])),
    )
    .await;
    let failed = replies.iter().filter(|r| r.status == 401).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        (failed, limited),
        (5, 10),
        "failures are counted; exactly the limit get through"
    );
}

#[tokio::test]
async fn headers_count_down_and_the_429_carries_the_envelope() {
    let state = state(&[("RATE_LIMIT_GLOBAL_MAX", "3"), LONG_GLOBAL_WINDOW]).await;
    let app = app(&state);
    let ip = fresh_ip();
    for expected in ["2", "1", "0"] {
        let reply = send(&app, "GET", "/api/ping", &ip, &[]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), expected);
        assert_eq!(header(&reply, "x-ratelimit-limit"), "3");
        assert_eq!(header(&reply, "ratelimit-policy"), "\"global\";q=3;w=3600");
        assert!(header(&reply, "ratelimit").starts_with(&format!("\"global\";r={expected};t=")));
        let reset: u64 = header(&reply, "x-ratelimit-reset").parse().unwrap_or(999);
        assert!((1..=3600).contains(&reset), "reset {reset}");
    }
    let reply = send(&app, "GET", "/api/ping", &ip, &[]).await;
    assert_eq!(reply.status, 429);
    let error = &reply.body["error"];
    assert_eq!(error["code"], "RATE_LIMIT_EXCEEDED", "{}", reply.body);
    assert_eq!(error["details"]["tier"], "global");
    let retry_after: u64 = header(&reply, "retry-after").parse().unwrap_or(0);
    assert_eq!(error["details"]["retryAfter"].as_u64(), Some(retry_after));
    assert!((1..=3600).contains(&retry_after));
}

#[tokio::test]
async fn a_request_after_retry_after_is_admitted() {
    let state = state(&[
        ("RATE_LIMIT_GLOBAL_MAX", "1"),
        ("RATE_LIMIT_GLOBAL_WINDOW_SECONDS", "2"),
    ])
    .await;
    let app = app(&state);
    let ip = fresh_ip();
    // Until the window is spent (a window can roll between two requests).
    let mut limited = send(&app, "GET", "/api/ping", &ip, &[]).await;
    for _ in 0..3 {
        if limited.status == 429 {
            break;
        }
        limited = send(&app, "GET", "/api/ping", &ip, &[]).await;
    }
    assert_eq!(limited.status, 429);
    let wait: u64 = header(&limited, "retry-after").parse().unwrap_or(0);
    assert!((1..=2).contains(&wait), "retry-after {wait}");
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    assert_eq!(send(&app, "GET", "/api/ping", &ip, &[]).await.status, 200);
}

#[tokio::test]
async fn successes_are_not_counted_on_the_auth_tier() {
    let state = state(&[("RATE_LIMIT_AUTH_MAX", "2")]).await;
    let app = app(&state);
    let ip = fresh_ip();
    for _ in 0..6 {
        assert_eq!(
            send(&app, "POST", "/api/attempt?ok=true", &ip, &[])
                .await
                .status,
            200
        );
    }
    assert_eq!(
        send(&app, "POST", "/api/attempt?ok=false", &ip, &[])
            .await
            .status,
        401
    );
    assert_eq!(
        send(&app, "POST", "/api/attempt?ok=false", &ip, &[])
            .await
            .status,
        401
    );
    let reply = send(&app, "POST", "/api/attempt?ok=false", &ip, &[]).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.body["error"]["details"]["tier"], "auth");
    // More failures than the tier allows is brute force: the IP is now blocked, so
    // even a correct attempt is refused.
    let blocked = send(&app, "POST", "/api/attempt?ok=true", &ip, &[]).await;
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.body["error"]["code"], "IP_BLOCKED");
}

#[tokio::test]
async fn post_creation_limits_differ_by_role() {
    let state = state(&[
        ("RATE_LIMIT_POST_CREATE_USER_MAX", "2"),
        ("RATE_LIMIT_POST_CREATE_MODERATOR_MAX", "4"),
        ("RATE_LIMIT_POST_CREATE_ADMIN_MAX", "6"),
        ("RATE_LIMIT_POST_CREATE_WINDOW_SECONDS", "3600"),
    ])
    .await;
    let app = app(&state);
    let keys = state
        .secrets
        .signing_keys()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (role_id, limit) in [(1_i16, 2), (3, 4), (2, 6)] {
        // A fresh account per role and run: the limits are per account.
        let account_id =
            i64::try_from(uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000).unwrap_or(1);
        // A real session: the identity layer refuses tokens of unknown ones.
        let amr = vec!["pwd".to_owned()];
        let seen = Seen {
            ip: None,
            user_agent: None,
            now: shared::auth::unix_now(),
        };
        let session = state
            .families
            .create(account_id, &amr, seen, Duration::from_secs(300))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let subject = access::Subject {
            account_id,
            username: "limited".into(),
            role_id,
            amr,
            session_id: session.id,
            auth_time: 0,
            email_verified: false,
        };
        let token = access::issue(
            &keys,
            &subject,
            Duration::from_secs(300),
            shared::auth::unix_now(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let bearer = format!("Bearer {token}");
        let headers = [("authorization", bearer.as_str())];
        let ip = fresh_ip();
        let replies = futures_util::future::join_all(
            (0..limit * 2).map(|_| send(&app, "POST", "/api/posts", &ip, &headers)),
        )
        .await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, limit, "role {role_id}");
        let rejected = replies
            .iter()
            .find(|r| r.status == 429)
            .map(|r| r.body["error"]["details"]["tier"].clone());
        assert_eq!(rejected, Some(json!("post-create")), "role {role_id}");
    }
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_source_does_not_escape() {
    let state = state(&[
        ("RATE_LIMIT_GLOBAL_MAX", "2"),
        ("TRUSTED_PROXIES", "192.0.2.1"),
        LONG_GLOBAL_WINDOW,
    ])
    .await;
    let app = app(&state);
    let ip = fresh_ip();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let forged = format!("198.51.100.{i}");
        statuses.push(
            send(
                &app,
                "GET",
                "/api/ping",
                &ip,
                &[("x-forwarded-for", forged.as_str())],
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
}

#[tokio::test]
async fn over_limit_is_audited_once_per_key_and_window() {
    let state = state(&[("RATE_LIMIT_GLOBAL_MAX", "1"), LONG_GLOBAL_WINDOW]).await;
    let app = app(&state);
    let ip = fresh_ip();
    for _ in 0..5 {
        send(&app, "GET", "/api/ping", &ip, &[]).await;
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'RATE_LIMIT_EXCEEDED' AND ip = $1::inet",
    )
    .bind(&ip)
    .fetch_one(state.db.writer_pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn without_dynamodb_auth_fails_closed_global_fails_open_and_the_breaker_opens() {
    // Nothing listens on port 9: every DynamoDB call is refused, as with its emulator
    // stopped (Secrets Manager stays reachable).
    let state = state(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
        ("BREAKER_FAILURES", "3"),
        ("BREAKER_OPEN_SECONDS", "60"),
    ])
    .await;
    let app = app(&state);
    let ip = fresh_ip();
    let closed = send(&app, "POST", "/api/attempt?ok=true", &ip, &[]).await;
    assert_eq!(closed.status, 503, "{}", closed.body);
    assert_eq!(closed.body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert!(!header(&closed, "retry-after").is_empty());

    let open = send(&app, "GET", "/api/ping", &ip, &[]).await;
    assert_eq!(open.status, 200, "the global tier lets requests through");

    for _ in 0..3 {
        send(&app, "GET", "/api/ping", &ip, &[]).await;
    }
    assert_eq!(
        state.breakers.dynamodb.state(),
        shared::resilience::BreakerState::Open
    );
    // Open breaker: decided without a call, same answers.
    assert_eq!(send(&app, "GET", "/api/ping", &ip, &[]).await.status, 200);
    assert_eq!(
        send(&app, "POST", "/api/attempt?ok=true", &ip, &[])
            .await
            .status,
        503
    );
}

/// Sends failing auth attempts until the auth tier rejects one (a window may roll).
async fn fail_until_limited(app: &HttpService, ip: &str) -> Reply {
    for _ in 0..6 {
        let reply = send(app, "POST", "/api/attempt?ok=false", ip, &[]).await;
        if reply.status != 401 {
            return reply;
        }
    }
    panic!("the auth tier never rejected");
}

#[tokio::test]
async fn brute_force_blocks_the_ip_on_an_escalating_ladder() {
    let state = state(&[
        ("RATE_LIMIT_AUTH_MAX", "1"),
        ("RATE_LIMIT_AUTH_WINDOW_SECONDS", "1"),
        ("BRUTE_FORCE_BLOCK_LADDER_SECONDS", "1,4"),
    ])
    .await;
    let app = app(&state);
    let ip = fresh_ip();

    // More failures than the auth tier allows: the first offence blocks for 1 s.
    assert_eq!(fail_until_limited(&app, &ip).await.status, 429);
    for path in ["/api/ping", "/api/attempt?ok=true"] {
        let method = if path == "/api/ping" { "GET" } else { "POST" };
        let blocked = send(&app, method, path, &ip, &[]).await;
        assert_eq!(blocked.status, 403, "{path} is blocked too");
        assert_eq!(blocked.body["error"]["code"], "IP_BLOCKED");
        assert_eq!(
            blocked.body["error"]["message"],
            "Your IP has been temporarily blocked due to suspicious activity"
        );
        assert_eq!(header(&blocked, "retry-after"), "1");
    }
    // Another IP is not affected.
    assert_eq!(
        send(&app, "GET", "/api/ping", &fresh_ip(), &[])
            .await
            .status,
        200
    );

    // The block expires by itself...
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(send(&app, "GET", "/api/ping", &ip, &[]).await.status, 200);
    // ...and a second offence the same day blocks longer.
    assert_eq!(fail_until_limited(&app, &ip).await.status, 429);
    let blocked = send(&app, "GET", "/api/ping", &ip, &[]).await;
    assert_eq!(blocked.status, 403);
    let retry_after: u64 = header(&blocked, "retry-after").parse().unwrap_or(0);
    assert!(
        (3..=4).contains(&retry_after),
        "second step of the ladder: {retry_after}"
    );

    let detected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'BRUTE_FORCE_DETECTED' AND severity = 'critical' AND ip = $1::inet",
    )
    .bind(&ip)
    .fetch_one(state.db.writer_pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detected, 2);
}
