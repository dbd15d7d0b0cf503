//! Reading answers: status and JSON, error paths, cookies, token claims, health.

use serde_json::Value;

/// The status and JSON body of a response (Null when the body is not JSON).
pub async fn status_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The `path` of every field error in an error envelope's `details.errors`.
pub fn error_paths(body: &Value) -> Vec<&str> {
    body["error"]["details"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect()
}

/// The value of a cookie set by the response.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookie| {
            let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
}

/// The full Set-Cookie line for `name` (to check attributes).
pub fn set_cookie_line(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .map(String::from)
}

/// The claims of a JWT, unverified (tests look at what the server put in).
pub fn token_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The health report in a health answer: the body itself when 200, the envelope's
/// details when 503.
pub fn health_report(status: u16, body: &Value) -> &Value {
    if status == 200 {
        body
    } else {
        &body["error"]["details"]
    }
}
