//! Helpers shared by the integration and end-to-end tests. They run against the local
//! stack that `make test` starts; its environment (`.stack/test/env`) says where it is.

use std::{future::Future, path::PathBuf, process::Command, time::Duration};

/// The API served by `cargo lambda watch` (set by `scripts/test.sh`).
pub fn api(path: &str) -> String {
    let base = std::env::var("BH_API_URL").unwrap_or_else(|_| "http://127.0.0.1:9010".into());
    format!("{base}{path}")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build the HTTP client: {e}"))
}

/// Runs `scripts/stack.sh <command>` for this stack, e.g. `stop-replica`.
pub fn stack(command: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/stack.sh");
    let status = Command::new(&script)
        .arg(command)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        status.success(),
        "scripts/stack.sh {command} failed: {status}"
    );
}

/// Polls `probe` every 200 ms until it yields `Some`, or panics after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `details`/`error` JSON of a response, with its status.
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Fails with a clear message when a test runs outside `make test`.
pub fn require_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with `make test` (it starts the local stack)")
    })
}
