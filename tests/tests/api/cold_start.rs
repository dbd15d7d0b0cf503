//! A cold start while Secrets Manager cannot be reached: the function retries a
//! bounded number of times, then stops with one fatal line naming the secret, rather
//! than start and answer 503s. The function binary is started directly (as Lambda's
//! init would), with the stack's environment but an AWS endpoint nobody listens on.

use std::{net::TcpListener, process::Command};

use api_tests::require_env;

/// A local port that was free a moment ago: connections to it are refused.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    drop(listener);
    port
}

#[test]
fn unreachable_secrets_at_cold_start_end_in_one_fatal_line_naming_the_secret() {
    let app_keys = require_env("APP_KEYS_SECRET_ID");
    let output = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["run", "-q", "-p", "posts"])
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        // The database credentials' secret is read before the key sets (and would be
        // the one named): this test is about the key sets, so the URLs' password serves.
        .env_remove("DB_SECRET_ID")
        .env("RETRY_MAX_ATTEMPTS", "3")
        .env("RETRY_BASE_DELAY_MS", "10")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the instance must not start: {log}"
    );

    // Both key sets are read side by side, each with its own attempts.
    for operation in ["read app keys", "read signing keys"] {
        let retries = log
            .lines()
            .filter(|line| line.contains("transient failure; retrying"))
            .filter(|line| line.contains(operation))
            .count();
        assert_eq!(
            retries, 2,
            "{operation}: three attempts, two retries: {log}"
        );
    }
    let fatal: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("\"level\":\"ERROR\"") && line.contains("fatal"))
        .collect();
    assert_eq!(fatal.len(), 1, "one fatal line: {log}");
    assert!(
        fatal[0].contains(&app_keys),
        "the fatal line names the secret {app_keys}: {}",
        fatal[0]
    );
}
