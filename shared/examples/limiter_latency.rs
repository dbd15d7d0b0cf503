//! What the rate limiter adds to a request, on the local stack (docs/benchmarks.md).
//!
//!   make dev   (or: scripts/stack.sh up), then
//!   . .stack/dev/env && cargo run --release -p shared --example limiter_latency [N]
//!
//! Sends N sequential in-process requests through the shared HTTP stack to a route
//! without limits, to one with the global tier, and to one with global + write (two
//! DynamoDB calls, issued concurrently), and times one bare DynamoDB UpdateItem.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::{
    Router,
    routing::{get, post},
};
use serde_json::json;
use shared::ratelimit::limited;
use tower::ServiceExt;

#[path = "support/bench.rs"]
mod bench;

use bench::{report, setup, time_each};

async fn time_route(
    app: &shared::http::HttpService,
    method: &str,
    path: &str,
    n: usize,
) -> Vec<f64> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"host": "bench"},
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": format!("10.99.{}.{}", i / 250, i % 250), "userAgent": "bench"},
                "requestId": format!("bench-{i}"), "routeKey": "$default", "stage": "$default",
                "accountId": "1", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
                "time": "22/Nov/2026:00:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        let request =
            lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let response = app
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    samples
}

#[tokio::main]
async fn main() {
    let (n, state) = setup().await;
    let routes = Router::new()
        .route("/api/bare", get(|| async { "ok" }))
        .route("/api/limited", limited(get(|| async { "ok" }), &state, &[]))
        .route(
            "/api/limited-write",
            limited(post(|| async { "ok" }), &state, &[]),
        )
        .with_state(state.clone());
    let app = shared::http::function(routes, &state);

    // Warm up connections and caches.
    time_route(&app, "GET", "/api/limited", 20).await;
    println!("{n} sequential requests each (distinct client IPs, so none is limited)");
    report("no limiter", time_route(&app, "GET", "/api/bare", n).await);
    report(
        "global tier (1 UpdateItem)",
        time_route(&app, "GET", "/api/limited", n).await,
    );
    report(
        "global + write tiers (2 UpdateItems, concurrent)",
        time_route(&app, "POST", "/api/limited-write", n).await,
    );

    let bare = time_each(n, |i| {
        let request = state
            .dynamodb
            .update_item()
            .table_name(&state.config.tables.rate_limits)
            .key("pk", AttributeValue::S(format!("bench#{i}")))
            .update_expression("ADD #c :one")
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        async move {
            request.send().await.unwrap_or_else(|e| panic!("{e:?}"));
        }
    })
    .await;
    report("bare DynamoDB UpdateItem", bare);
}
