//! End-to-end through the real HTTP path: client -> cargo lambda watch -> function.

use api_tests::app;
use serde_json::Value;

const SECURITY_HEADERS: [(&str, &str); 8] = [
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
];

fn assert_security_headers(response: &reqwest::Response) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            response.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} missing on {} {}",
            response.status(),
            response.url()
        );
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn health_is_healthy_with_every_check_passing() {
    let app = app();
    let (status, body) = app.health("").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "healthy", "{body}");
    for check in ["writer", "reader", "dynamodb", "secrets"] {
        assert_eq!(body["checks"][check]["status"], "pass", "{check}: {body}");
        assert!(
            body["checks"][check]["responseTimeMs"].is_number(),
            "{body}"
        );
    }
    assert!(body["checks"]["reader"]["replicationLagSeconds"].is_number());
    assert!(body["uptimeMs"].is_u64() && body["coldStart"].is_boolean());
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn live_probe_answers_without_checks() {
    let app = app();
    let (status, body) = app.health("type=live").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert!(body.get("checks").is_none(), "{body}");
}

#[tokio::test]
async fn ready_probe_checks_the_writer_only() {
    let app = app();
    let (status, body) = app.health("type=ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["writer"]["status"], "pass");
    assert!(body["checks"].get("reader").is_none(), "{body}");
}

#[tokio::test]
async fn unknown_probe_type_is_a_validation_error() {
    let app = app();
    let (status, body) = app.health("type=sideways").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn unknown_route_gets_the_404_envelope_and_security_headers() {
    let app = app();
    let response = app.get("/api/definitely/not/here").send_once().await;
    assert_eq!(response.status(), 404);
    assert_security_headers(&response);
    let request_id = header(&response, "x-request-id").map(String::from);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let error = &body["error"];
    assert_eq!(error["code"], "NOT_FOUND", "{body}");
    assert_eq!(error["statusCode"], 404);
    assert_eq!(error["path"], "/api/definitely/not/here");
    assert!(error["timestamp"].is_string());
    assert_eq!(error["requestId"].as_str(), request_id.as_deref());
}

#[tokio::test]
async fn oversize_body_gets_the_413_envelope() {
    let app = app();
    let response = app
        .post("/api/health")
        .header("content-type", "application/json")
        .body(vec![b' '; 1024 * 1024 + 1])
        .send_once()
        .await;
    assert_eq!(response.status(), 413);
    assert_security_headers(&response);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE", "{body}");
}

#[tokio::test]
async fn wrong_method_gets_the_405_envelope() {
    let app = app();
    let response = app.delete("/api/health").send_once().await;
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED", "{body}");
}

#[tokio::test]
async fn security_headers_are_on_successful_responses() {
    let app = app();
    let response = app.get("/api/health?type=live").send_once().await;
    assert_eq!(response.status(), 200);
    assert_security_headers(&response);
    assert!(header(&response, "x-response-time").is_some_and(|v| v.ends_with("ms")));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
}

async fn preflight(origin: &str) -> reqwest::Response {
    let app = app();
    app.http(reqwest::Method::OPTIONS, "/api/health")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-csrf-token",
        )
        .send_once()
        .await
}

#[tokio::test]
async fn cors_preflight_from_an_allowed_origin_is_granted() {
    // ALLOWED_ORIGINS of the local stack includes http://localhost:3000.
    let response = preflight("http://localhost:3000").await;
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("86400"));
    let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert!(methods.contains(method), "{method} not in {methods}");
    }
    let headers = header(&response, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["content-type", "authorization", "x-csrf-token"] {
        assert!(headers.contains(name), "{name} not in {headers}");
    }
}

#[tokio::test]
async fn cors_from_another_origin_gets_no_allow_origin() {
    let app = app();
    let response = preflight("https://attacker.example").await;
    assert!(header(&response, "access-control-allow-origin").is_none());

    let response = app
        .get("/api/health?type=live")
        .header("origin", "https://attacker.example")
        .send_once()
        .await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "access-control-allow-origin").is_none());
    assert_security_headers(&response);
}

#[tokio::test]
async fn actual_request_from_an_allowed_origin_exposes_rate_limit_headers() {
    let app = app();
    let response = app
        .get("/api/health?type=live")
        .header("origin", "http://localhost:3000")
        .send_once()
        .await;
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed.contains("ratelimit") && exposed.contains("retry-after"),
        "{exposed}"
    );
}
