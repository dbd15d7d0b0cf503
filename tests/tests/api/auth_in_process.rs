//! Shared by the auth function's in-process suites (`login_backoff`, `mail_limits`,
//! `password_hashing`, `password_reset`'s expiry): state from the local stack's environment with overrides, and
//! requests through the function's whole HTTP stack as API Gateway events.

use std::sync::Arc;

use serde_json::{Value, json};
use shared::{AppState, config::Config};
use tower::ServiceExt;

/// The stack's configuration with some variables replaced.
pub async fn state(overrides: &[(&str, &str)]) -> Arc<AppState> {
    let config =
        Config::from_env_with(overrides).unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    AppState::from_config(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Cheap argon2 parameters: these tests are about behaviour, not cost.
pub const CHEAP_ARGON2: [(&str, &str); 3] = [
    ("ARGON2_MEMORY_KIB", "1024"),
    ("ARGON2_ITERATIONS", "1"),
    ("ARGON2_PARALLELISM", "1"),
];

/// POSTs JSON from `source_ip`; returns the status and the JSON body.
pub async fn post(state: &Arc<AppState>, path: &str, body: Value, source_ip: &str) -> (u16, Value) {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/apigw-auth-login.json"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut event: Value = serde_json::from_str(&template).unwrap_or_else(|e| panic!("{e}"));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event["body"] = json!(body.to_string());
    let request =
        lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let app = shared::http::function(auth::router(state.clone()), state);
    let response = app
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
