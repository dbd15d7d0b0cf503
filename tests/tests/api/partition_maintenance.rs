//! Partition maintenance against the stack's real PostgreSQL primary and replica. Each
//! test makes its own partitioned table and advisory-lock name, so tests run in
//! parallel without touching posts or audit_log.

use shared::partitions::{MaintenanceConfig, Summary, TablePolicy, run};
use sqlx::PgPool;
use time::{Date, macros::date};

const TODAY: Date = date!(2026 - 11 - 22);

async fn writer() -> PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("DATABASE_URL is not set: run `make test`"));
    PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh `created_at`-partitioned table with only a default partition.
async fn table(pool: &PgPool) -> String {
    let name = format!("pm_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    for statement in [
        format!(
            "CREATE TABLE {name} (id BIGSERIAL, created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)"
        ),
        format!("CREATE TABLE {name}_default PARTITION OF {name} DEFAULT"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    name
}

fn config(table: &str, retention_months: Option<u32>, drop_detached: bool) -> MaintenanceConfig {
    MaintenanceConfig {
        tables: vec![TablePolicy {
            table: table.into(),
            retention_months,
        }],
        premake: 4,
        drop_detached,
        lock_name: format!("lock-{table}"),
    }
}

async fn maintain(pool: &PgPool, config: &MaintenanceConfig) -> Summary {
    run(pool, config, TODAY)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn attached(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT child.relname::text FROM pg_inherits
         JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid
         WHERE parent.relname = $1 ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn exists(pool: &PgPool, relation: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(relation)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn premakes_months_ahead_and_a_second_run_creates_nothing() {
    let pool = writer().await;
    let table = table(&pool).await;
    let config = config(&table, None, true);
    let first = maintain(&pool, &config).await;
    let expected: Vec<String> = ["202611", "202612", "202701", "202702", "202703"]
        .iter()
        .map(|m| format!("{table}_p{m}"))
        .collect();
    assert_eq!(first.created, expected);
    assert_eq!(first.skipped, None);
    let second = maintain(&pool, &config).await;
    assert!(second.created.is_empty(), "{second:?}");

    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM partition_maintenance_runs WHERE $1 = ANY(created)",
    )
    .bind(&expected[0])
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recorded, 1, "each run is recorded with what it did");
}

#[tokio::test]
async fn a_run_while_another_holds_the_lock_skips() {
    let pool = writer().await;
    let table = table(&pool).await;
    let config = config(&table, None, true);
    let mut other = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
        .bind(&config.lock_name)
        .fetch_one(&mut *other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(held);
    let skipped = maintain(&pool, &config).await;
    assert_eq!(skipped.skipped.as_deref(), Some("locked"));
    assert!(skipped.created.is_empty());
    other.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        maintain(&pool, &config).await.created.len(),
        5,
        "works once the lock is free"
    );
}

#[tokio::test]
async fn nothing_happens_on_the_replica() {
    let pool = writer().await;
    let table = table(&pool).await;
    let url = std::env::var("DATABASE_URL_REPLICA")
        .unwrap_or_else(|_| panic!("DATABASE_URL_REPLICA is not set"));
    let replica = PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The table reaches the replica by streaming; wait for it.
    for _ in 0..50 {
        if exists(&replica, &table).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let summary = maintain(&replica, &config(&table, None, true)).await;
    assert_eq!(summary.skipped.as_deref(), Some("replica"));
    assert_eq!(attached(&pool, &table).await, [format!("{table}_default")]);
}

#[tokio::test]
async fn rows_in_the_default_partition_move_when_their_month_is_made() {
    let pool = writer().await;
    let table = table(&pool).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (created_at) VALUES ('2027-06-03Z'), ('2027-06-20Z'), ('2027-06-30 23:59Z'), ('2020-01-01Z')"
    )))
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let summary = maintain(&pool, &config(&table, None, true)).await;
    assert!(
        summary.created.contains(&format!("{table}_p202706")),
        "{summary:?}"
    );
    assert_eq!(summary.rows_moved, 3);
    assert_eq!(
        summary.rows_in_default[&table], 1,
        "the 2020 row has no partition and is reported"
    );
    let in_june: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table}_p202706"
    )))
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(in_june, 3);
    // Four months are kept beyond the newest data.
    assert!(summary.created.contains(&format!("{table}_p202710")));
}

async fn with_month(pool: &PgPool, table: &str, month: &str, from: &str, to: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table}_p{month} PARTITION OF {table} FOR VALUES FROM ('{from}') TO ('{to}')"
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn retention_detaches_then_drops_only_whole_months_past_the_window() {
    let pool = writer().await;
    let table = table(&pool).await;
    with_month(&pool, &table, "202501", "2025-01-01Z", "2025-02-01Z").await;
    with_month(&pool, &table, "202509", "2025-09-01Z", "2025-10-01Z").await;
    with_month(&pool, &table, "202510", "2025-10-01Z", "2025-11-01Z").await;
    // 13 months back from November 2026 is October 2025: September 2025 is wholly older.
    let summary = maintain(&pool, &config(&table, Some(13), true)).await;
    let gone = [format!("{table}_p202501"), format!("{table}_p202509")];
    assert_eq!(summary.detached, gone);
    assert_eq!(summary.dropped, gone);
    assert!(!exists(&pool, &gone[0]).await);
    assert!(
        attached(&pool, &table)
            .await
            .contains(&format!("{table}_p202510"))
    );
}

#[tokio::test]
async fn retention_never_removes_the_current_or_newest_partition_and_can_keep_detached() {
    let pool = writer().await;
    let table = table(&pool).await;
    maintain(&pool, &config(&table, None, true)).await;
    with_month(&pool, &table, "202610", "2026-10-01Z", "2026-11-01Z").await;
    // A zero-month window would retire everything before this month.
    let summary = maintain(&pool, &config(&table, Some(0), false)).await;
    assert_eq!(summary.detached, [format!("{table}_p202610")]);
    assert!(summary.dropped.is_empty());
    assert!(
        exists(&pool, &format!("{table}_p202610")).await,
        "kept, detached"
    );
    let still = attached(&pool, &table).await;
    assert!(
        still.contains(&format!("{table}_p202611")),
        "the current month stays: {still:?}"
    );
    assert!(
        still.contains(&format!("{table}_p202703")),
        "the newest stays: {still:?}"
    );
}
