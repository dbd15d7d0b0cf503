//! Failover end-to-end: stops and restarts the replica, the writer and DynamoDB of the
//! test stack, so it runs alone, after every other suite (`scripts/test.sh`). Test names
//! start with `serial_` so the concurrent run skips them.

use std::time::Duration;

use api_tests::{
    RestoreAws, app, dynamodb_is_down, eventually, health_report, moto_is_down, stack,
};
use serde_json::Value;
use shared::db::Db;

/// Restarts whatever a failed assertion left stopped.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        stack("start-writer");
        stack("start-replica");
    }
}

async fn db() -> Db {
    shared::state::connect_db_from_env()
        .await
        .unwrap_or_else(|e| panic!("{e} (run `make test`)"))
}

/// True when the read was answered by a server in recovery, i.e. the replica.
async fn read_served_by_replica(db: &Db) -> bool {
    db.read(|mut conn| async move {
        sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
            .fetch_one(&mut *conn)
            .await
    })
    .await
    .unwrap_or_else(|e| panic!("the read failed: {e}"))
}

async fn health_with_status(expected_http: u16, expected_status: &str) -> Value {
    let app = app();
    eventually(
        &format!("health {expected_http} {expected_status}"),
        Duration::from_secs(30),
        || async {
            let (status, body) = app.health("").await;
            let reported = &health_report(status, &body)["status"];
            (status == expected_http && reported == expected_status).then_some(body)
        },
    )
    .await
}

#[tokio::test]
async fn serial_failover_replica_down_degrades_and_reads_use_the_writer() {
    let _restore = Restore;
    let db = db().await;
    health_with_status(200, "healthy").await;
    assert!(
        read_served_by_replica(&db).await,
        "with both up, reads go to the replica"
    );

    stack("stop-replica");
    let body = health_with_status(200, "degraded").await;
    assert_eq!(body["checks"]["reader"]["status"], "fail", "{body}");
    assert_eq!(body["checks"]["writer"]["status"], "pass", "{body}");
    // The failure text stays in the logs.
    assert_eq!(body["checks"]["reader"]["message"], "unreachable", "{body}");
    assert!(
        !read_served_by_replica(&db).await,
        "with the replica down, the read is answered by the writer"
    );

    stack("start-replica");
    health_with_status(200, "healthy").await;
}

#[tokio::test]
async fn serial_failover_writer_down_fails_readiness_and_recovers_without_restart() {
    let app = app();
    let _restore = Restore;
    health_with_status(200, "healthy").await;

    stack("stop-writer");
    let response = app.get("/api/health?type=ready").send_once().await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(
        body["error"]["details"]["checks"]["writer"]["status"], "fail",
        "{body}"
    );

    let body = health_with_status(503, "unhealthy").await;
    assert_eq!(
        body["error"]["details"]["checks"]["reader"]["status"], "pass",
        "{body}"
    );
    // Reads keep working from the replica while the writer is away.
    assert!(read_served_by_replica(&db().await).await);
    // Failed probes count: after enough of them the writer's breaker is open.
    breaker_in_health("writer", "open", 503).await;

    stack("start-writer");
    eventually("ready again", Duration::from_secs(30), || async {
        let (status, _) = app.health("type=ready").await;
        (status == 200).then_some(())
    })
    .await;
    // Once the trial is due (BREAKER_OPEN_SECONDS), passing probes close it again.
    breaker_in_health("writer", "closed", 200).await;
}

/// Polls the full health check until `dependency`'s breaker reports `state`.
async fn breaker_in_health(dependency: &str, state: &str, expected_http: u16) -> Value {
    let app = app();
    eventually(
        &format!("{dependency} breaker {state}"),
        Duration::from_secs(60),
        || async {
            let (status, body) = app.health("").await;
            let breakers = &health_report(status, &body)["circuitBreakers"];
            (status == expected_http && breakers[dependency] == state).then_some(body)
        },
    )
    .await
}

#[tokio::test]
async fn serial_failover_dynamodb_down_auth_fails_closed_and_reads_fail_open() {
    let app = app();
    let _restore = RestoreAws;
    let user = api_tests::new_user();
    let session = app.signup(&user).await;
    health_with_status(200, "healthy").await;

    // What serves DynamoDB (dynalite; moto with BH_LOCAL_DYNAMODB=moto). Once the stop
    // returns, the process has exited.
    stack("stop-dynamodb");
    assert!(
        dynamodb_is_down(),
        "DynamoDB still answers after stop-dynamodb"
    );
    // The auth tier cannot be decided: 503 with Retry-After, before any password check.
    let login = app.login(&user.username, &user.password).await;
    assert_eq!(login.status(), 503);
    assert!(login.headers().contains_key("retry-after"));
    let body: Value = login.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    // The global tier fails open: reads that need no AWS call keep working.
    let (status, _) = app.health("type=live").await;
    assert_eq!(status, 200);
    let (status, body) = app.health("").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["dynamodb"]["status"], "fail", "{body}");
    if !moto_is_down() {
        // dynalite: Secrets Manager (moto) was not stopped with it.
        assert_eq!(body["checks"]["secrets"]["status"], "pass", "{body}");
    }

    stack("start-dynamodb");
    // Recovers by itself once the breaker lets a trial call through.
    eventually(
        "login after DynamoDB returns",
        Duration::from_secs(30),
        || async {
            let response = app.login(&user.username, &user.password).await;
            (response.status() == 200).then_some(())
        },
    )
    .await;
    // dynalite keeps its tables on disk: the session from before the stop is still
    // there and refreshes (moto, in memory, would have lost it).
    if api_tests::dynamodb_persists() {
        let refreshed = app.refresh(&session).await;
        assert_eq!(refreshed.status(), 200, "the session outlived the restart");
    }
}
