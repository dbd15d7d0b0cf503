//! The shared HTTP stack, driven in-process with real API Gateway v2 events from
//! `events/` (the same JSON `cargo lambda invoke` sends), through `lambda_http`'s own
//! event parser. No network: these pin down the envelope, limits, headers, CORS and
//! client-IP rules independently of any function.

use axum::{Extension, Json, Router, routing::get, routing::post};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use shared::{
    http::config::HttpConfig,
    http::{app, context::RequestContext, extract::ApiJson},
};
use tower::ServiceExt;

const MAX_BODY: usize = 256;

fn config() -> HttpConfig {
    HttpConfig {
        allowed_origins: vec![HeaderValue::from_static("https://app.example.com")],
        max_body_bytes: MAX_BODY,
        trusted_proxies: Vec::new(),
        request_timeout: std::time::Duration::from_secs(10),
        deadline_margin: std::time::Duration::from_millis(500),
    }
}

fn routes() -> Router {
    Router::new()
        .route(
            "/api/echo",
            post(|ApiJson(body): ApiJson<Value>| async move { Json(body) }),
        )
        .route(
            "/api/whoami",
            get(|Extension(ctx): Extension<RequestContext>| async move {
                Json(json!({ "ip": ctx.client_ip.map(|ip| ip.to_string()) }))
            }),
        )
        .route(
            "/api/big",
            get(|| async { Json(json!({ "filler": "x".repeat(4096) })) }),
        )
}

fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(event: Value) -> Reply {
    let request = lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("lambda_http could not parse the event: {e}"));
    let response = app(routes(), &config())
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.to_vec(),
    }
}

fn assert_envelope(reply: &Reply, status: u16, code: &str, event: &Value) {
    assert_eq!(reply.status.as_u16(), status, "{:?}", reply.json());
    let error = &reply.json()["error"];
    assert_eq!(error["code"], code, "{error}");
    assert_eq!(error["statusCode"], status);
    assert_eq!(error["path"], event["rawPath"]);
    assert_eq!(error["requestId"], event["requestContext"]["requestId"]);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    let timestamp = error["timestamp"].as_str().unwrap_or_default();
    assert!(
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "timestamp {timestamp:?} is not RFC 3339"
    );
    assert_eq!(
        reply.headers.get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("application/json"))
    );
}

fn assert_security_headers(reply: &Reply) {
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains; preload",
        ),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            "permissions-policy",
            "geolocation=(), microphone=(), camera=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        assert_eq!(
            reply.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on a {} response",
            reply.status
        );
    }
    assert!(reply.headers.contains_key("x-response-time"));
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope_with_the_request_id() {
    let event = event("apigw-malformed-json.json");
    let reply = send(event.clone()).await;
    assert_envelope(&reply, 400, "VALIDATION_ERROR", &event);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Malformed JSON")),
        "{:?}",
        reply.json()
    );
    assert_security_headers(&reply);
}

#[tokio::test]
async fn wrong_content_type_is_a_415_envelope() {
    let mut event = event("apigw-malformed-json.json");
    event["headers"]["content-type"] = json!("text/plain");
    event["body"] = json!(r#"{"valid": "json"}"#);
    let reply = send(event.clone()).await;
    assert_envelope(&reply, 415, "UNSUPPORTED_MEDIA_TYPE", &event);
}

#[tokio::test]
async fn body_over_the_limit_is_a_413_envelope() {
    let mut event = event("apigw-malformed-json.json");
    event["body"] = json!(format!(r#"{{"pad": "{}"}}"#, "a".repeat(MAX_BODY)));
    let reply = send(event.clone()).await;
    assert_envelope(&reply, 413, "PAYLOAD_TOO_LARGE", &event);
    assert_security_headers(&reply);
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let mut event = event("apigw-malformed-json.json");
    let pad = MAX_BODY - r#"{"pad": ""}"#.len();
    event["body"] = json!(format!(r#"{{"pad": "{}"}}"#, "a".repeat(pad)));
    let reply = send(event).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(reply.json()["pad"].as_str().map(str::len), Some(pad));
}

#[tokio::test]
async fn unknown_route_is_a_404_envelope() {
    let event = event("apigw-unknown-route.json");
    let reply = send(event.clone()).await;
    assert_envelope(&reply, 404, "NOT_FOUND", &event);
    assert_security_headers(&reply);
}

#[tokio::test]
async fn wrong_method_is_a_405_envelope() {
    let mut event = event("apigw-unknown-route.json");
    event["rawPath"] = json!("/api/echo");
    event["requestContext"]["http"]["path"] = json!("/api/echo");
    let reply = send(event.clone()).await;
    assert_envelope(&reply, 405, "METHOD_NOT_ALLOWED", &event);
}

#[tokio::test]
async fn client_ip_is_the_source_ip_not_a_forged_forwarded_for() {
    let mut event = event("apigw-unknown-route.json");
    event["rawPath"] = json!("/api/whoami");
    event["headers"]["x-forwarded-for"] = json!("6.6.6.6");
    event["requestContext"]["http"]["sourceIp"] = json!("198.51.100.23");
    let reply = send(event).await;
    assert_eq!(reply.json()["ip"], "198.51.100.23");
}

#[tokio::test]
async fn allowed_origin_gets_credentialed_cors_headers() {
    let mut event = event("apigw-unknown-route.json");
    event["rawPath"] = json!("/api/whoami");
    event["headers"]["origin"] = json!("https://app.example.com");
    let reply = send(event).await;
    assert_eq!(
        reply.headers.get("access-control-allow-origin"),
        Some(&HeaderValue::from_static("https://app.example.com"))
    );
    assert_eq!(
        reply.headers.get("access-control-allow-credentials"),
        Some(&HeaderValue::from_static("true"))
    );
}

#[tokio::test]
async fn other_origin_gets_no_allow_origin() {
    let mut event = event("apigw-unknown-route.json");
    event["rawPath"] = json!("/api/whoami");
    event["headers"]["origin"] = json!("https://evil.example");
    let reply = send(event).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn large_responses_are_gzipped_small_ones_are_not() {
    let mut event = event("apigw-unknown-route.json");
    event["headers"]["accept-encoding"] = json!("gzip");
    event["rawPath"] = json!("/api/big");
    let big = send(event.clone()).await;
    assert_eq!(
        big.headers.get(header::CONTENT_ENCODING),
        Some(&HeaderValue::from_static("gzip"))
    );
    assert!(big.body.len() < 4096, "gzip should shrink 4 KiB of filler");

    event["rawPath"] = json!("/api/whoami");
    let small = send(event).await;
    assert!(!small.headers.contains_key(header::CONTENT_ENCODING));
}
