//! The local stack `make test` starts: its environment (`.stack/test/env`), its
//! servers (stopped and started by the failover and fault suites), its databases, and
//! waiting for it.

use std::{future::Future, path::PathBuf, process::Command, time::Duration};

/// Fails with a clear message when a test runs outside `make test`.
pub fn require_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with `make test` (it starts the local stack)")
    })
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

/// Starts the stack's AWS emulators again (dynalite for DynamoDB, moto for Secrets
/// Manager; `scripts/stack.sh start-aws`, which re-provisions them) on drop, if a failed
/// assertion left either stopped.
pub struct RestoreAws;

impl Drop for RestoreAws {
    fn drop(&mut self) {
        if dynamodb_is_down() || moto_is_down() {
            stack("start-aws");
        }
    }
}

/// True while nothing listens at the endpoint the SDK uses for `service` (its
/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`).
fn endpoint_is_down(service_variable: &str) -> bool {
    let url = std::env::var(service_variable).unwrap_or_else(|_| require_env("AWS_ENDPOINT_URL"));
    std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err()
}

/// True while the stack's DynamoDB (dynalite, or moto with `BH_LOCAL_DYNAMODB=moto`)
/// does not answer.
pub fn dynamodb_is_down() -> bool {
    endpoint_is_down("AWS_ENDPOINT_URL_DYNAMODB")
}

/// True while moto (Secrets Manager) does not answer.
pub fn moto_is_down() -> bool {
    endpoint_is_down("AWS_ENDPOINT_URL_SECRETS_MANAGER")
}

/// True when the stack's DynamoDB keeps its tables across a restart: dynalite (on disk,
/// its own endpoint), not moto (in memory; `BH_LOCAL_DYNAMODB=moto`).
pub fn dynamodb_persists() -> bool {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .is_ok_and(|dynamodb| std::env::var("AWS_ENDPOINT_URL").ok() != Some(dynamodb))
}

/// True while neither DynamoDB nor Secrets Manager answers.
pub fn aws_is_down() -> bool {
    dynamodb_is_down() && moto_is_down()
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

/// The test stack's writer, for checking what the API wrote.
pub async fn database() -> sqlx::PgPool {
    sqlx::PgPool::connect(&require_env("DATABASE_URL"))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"))
}

/// Waits until the replica has replayed everything the writer has written so far
/// (the insert position: the stack commits asynchronously, so committed WAL may not be
/// written out yet). Routes that read from the replica are eventually consistent.
pub async fn replica_caught_up() {
    let writer = database().await;
    let target: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&writer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let replica = sqlx::PgPool::connect(&require_env("DATABASE_URL_REPLICA"))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the replica: {e}"));
    eventually(
        "the replica to catch up",
        // Generous: on a loaded two-core machine replay can trail by seconds.
        Duration::from_secs(30),
        || async {
            let replayed: Option<bool> =
                sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                    .bind(&target)
                    .fetch_one(&replica)
                    .await
                    .ok()
                    .flatten();
            replayed.filter(|done| *done).map(|_| ())
        },
    )
    .await;
}
