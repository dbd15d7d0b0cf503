//! SIGTERM while a request is being handled: the request completes (its answer is
//! posted), the pools close, and the process exits 0 within Lambda's 500 ms.
//!
//! The function binary runs as Lambda runs it: it talks to a Runtime API (and the
//! Extensions API, where lambda_runtime registers the extension that makes Lambda send
//! SIGTERM), here a minimal one served by the test from the documented HTTP protocol,
//! so the test controls when the invocation is handed out and when the signal comes.
//! The request is made slow on purpose: its replica closes every connection after
//! 100 ms, so each read waits that long before it falls back to the writer. A first
//! invocation warms the writer's connection, so the second (the one interrupted) is
//! the replica's wait plus a query.

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue},
    response::IntoResponse,
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What the function was handed and answered.
#[derive(Default)]
struct Runtime {
    /// Notified when the last invocation was handed out.
    last_handed_out: Notify,
    handed_out: Mutex<usize>,
    answers: Mutex<Vec<(String, Value)>>,
}

const INVOCATIONS: usize = 2;

fn event() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/apigw-health.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut event: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    event["routeKey"] = json!("GET /api/posts");
    event["rawPath"] = json!("/api/posts");
    event["rawQueryString"] = json!("limit=1");
    event["requestContext"]["http"]["path"] = json!("/api/posts");
    event["requestContext"]["requestId"] = json!("graceful-shutdown-test");
    event
}

async fn next_invocation(State(runtime): State<Arc<Runtime>>) -> impl IntoResponse {
    // One at a time: the next only once the previous one was answered.
    let number = loop {
        let handed_out = *runtime.handed_out.lock().unwrap_or_else(|e| e.into_inner());
        let answered = runtime.answers.lock().map(|a| a.len()).unwrap_or(0);
        if handed_out == answered {
            break handed_out + 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if number > INVOCATIONS {
        // No more: the runtime waits for the next one until it is stopped.
        std::future::pending::<()>().await;
    }
    *runtime.handed_out.lock().unwrap_or_else(|e| e.into_inner()) = number;
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (
            "lambda-runtime-aws-request-id",
            format!("invocation-{number}"),
        ),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:posts".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if number == INVOCATIONS {
        runtime.last_handed_out.notify_one();
    }
    (headers, event().to_string())
}

async fn answer(
    State(runtime): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> impl IntoResponse {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    runtime
        .answers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, body));
    axum::http::StatusCode::ACCEPTED
}

async fn register_extension() -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-extension-identifier",
        HeaderValue::from_static("extension-1"),
    );
    let body =
        json!({"functionName": "posts", "functionVersion": "$LATEST", "handler": "bootstrap"});
    (headers, body.to_string())
}

/// A replica that takes every connection and drops it 100 ms later, unanswered.
async fn slow_failing_replica() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                drop(connection);
            });
        }
    });
    port
}

fn binary(name: &str) -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    std::path::Path::new(&target).join("debug").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_request_lets_it_finish_closes_the_pools_and_exits_zero() {
    let runtime = Arc::new(Runtime::default());
    let routes = Router::new()
        .route("/2020-01-01/extension/register", post(register_extension))
        .route(
            "/2020-01-01/extension/event/next",
            get(std::future::pending::<&'static str>),
        )
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(answer))
        .with_state(runtime.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, routes).await });

    let replica_port = slow_failing_replica().await;
    let replica = api_tests::require_env("DATABASE_URL_REPLICA");
    let (head, tail) = replica
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("{replica}"));
    let database = tail.split_once('/').map_or("", |(_, db)| db);
    let hung_replica = format!("{head}@127.0.0.1:{replica_port}/{database}");

    let function = Command::new(binary("posts"))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "posts")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("DATABASE_URL_REPLICA", hung_replica)
        // Every read tries the replica again (and waits for it), not only every 5 s.
        .env("READER_RETRY_AFTER_MS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start the posts function ({}): {e}",
                binary("posts").display()
            )
        });

    tokio::time::timeout(Duration::from_secs(60), runtime.last_handed_out.notified())
        .await
        .unwrap_or_else(|_| panic!("the function did not ask for its invocations"));
    // Well inside the request's 100 ms wait for the replica.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let signalled = Instant::now();
    let pid = i32::try_from(function.id()).unwrap_or(0);
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed.success());

    let output = tokio::task::spawn_blocking(move || function.wait_with_output())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = signalled.elapsed();
    let log = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);

    assert_eq!(
        output.status.code(),
        Some(0),
        "exit status; stderr: {errors}"
    );
    assert!(
        took < Duration::from_millis(500),
        "took {took:?} after SIGTERM"
    );
    let answers = runtime
        .answers
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let [(warm_up, first), (id, answer)] = answers.as_slice() else {
        panic!("two answers expected, got {answers:?}; log: {log}");
    };
    assert_eq!(
        (warm_up.as_str(), &first["statusCode"]),
        ("invocation-1", &json!(200))
    );
    assert_eq!(id, "invocation-2");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let shutdown = log
        .lines()
        .find(|line| line.contains("\"shutting down\""))
        .unwrap_or_else(|| panic!("no shutdown line: {log}"));
    let shutdown: Value = serde_json::from_str(shutdown).unwrap_or(Value::Null);
    assert_eq!(
        shutdown["requestsInFlight"], 1,
        "SIGTERM came during the request: {shutdown}"
    );
    assert_eq!(shutdown["requestsDrained"], true, "{shutdown}");
    assert_eq!(shutdown["poolsClosed"], true, "{shutdown}");
}
