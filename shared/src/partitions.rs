//! Monthly partition maintenance, in the manner of pg_partman's `run_maintenance`:
//!
//! - one transaction, under a transaction-scoped advisory lock (a concurrent run
//!   skips), and nothing at all on a replica;
//! - premake: at least `premake` monthly partitions beyond the newest data (or beyond
//!   now when the table is empty), named `<table>_pYYYYMM`, created idempotently;
//! - the default partition: rows that landed there are counted (warned and reported),
//!   and moved into a partition as soon as one is made for their month;
//! - retention: a partition whose whole range is older than the window is detached,
//!   then dropped (or kept detached); the current and the newest partition never go.
//!
//! Every run is recorded in `partition_maintenance_runs` and returned as a summary.

use std::time::Instant;

use crate::config::{ConfigError, Env};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool};
use time::{Date, Month, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct TablePolicy {
    /// A table partitioned by range on `created_at`, with a `<table>_default` partition.
    pub table: String,
    /// Months to keep; `None` keeps everything.
    pub retention_months: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    pub tables: Vec<TablePolicy>,
    pub premake: u32,
    /// Drop retired partitions (true) or leave them detached (false).
    pub drop_detached: bool,
    /// Names the advisory lock: runs with the same name exclude each other.
    pub lock_name: String,
}

fn months(
    env: &Env<'_>,
    var: &'static str,
    default: Option<u32>,
) -> Result<Option<u32>, ConfigError> {
    env.note(var, Some(default.map_or("none".into(), |m| m.to_string())));
    match env.get(var) {
        None => Ok(default),
        Some(v) if v.trim() == "none" => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                var,
                reason: "a number of months, or none".into(),
            }),
    }
}

impl MaintenanceConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    /// posts (no retention by default) and audit_log (13 months), 4 months premade.
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: vec![
                TablePolicy {
                    table: "posts".into(),
                    retention_months: months(env, "POSTS_RETENTION_MONTHS", None)?,
                },
                TablePolicy {
                    table: "audit_log".into(),
                    retention_months: months(env, "AUDIT_LOG_RETENTION_MONTHS", Some(13))?,
                },
            ],
            premake: months(env, "PARTITION_PREMAKE_MONTHS", Some(4))?.unwrap_or(4),
            drop_detached: !env.parsed_or("PARTITION_KEEP_DETACHED", false)?,
            lock_name: "blue-harvest-partition-maintenance".into(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} is not a valid table name")]
    TableName(String),
}

/// What one run of partition maintenance did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PartitionSummary)]
pub struct Summary {
    /// Why nothing was done (`"replica"`, `"locked"`), if so.
    #[schema(required)]
    pub skipped: Option<String>,
    pub created: Vec<String>,
    pub detached: Vec<String>,
    pub dropped: Vec<String>,
    pub rows_moved: i64,
    /// Rows still in each default partition after the run.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub rows_in_default: Map<String, Value>,
    pub duration_ms: i64,
}

/// The first day of the month `offset` months after `month`.
fn add_months(month: Date, offset: i32) -> Date {
    let index = month.year() * 12 + i32::from(u8::from(month.month())) - 1 + offset;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)).unwrap_or(Month::January);
    Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
}

fn first_of_month(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

fn partition_name(table: &str, month: Date) -> String {
    format!("{table}_p{:04}{:02}", month.year(), u8::from(month.month()))
}

/// The month a `<table>_pYYYYMM` name stands for.
fn month_of(table: &str, name: &str) -> Option<Date> {
    let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[..4].parse().ok()?;
    let month = Month::try_from(digits[4..].parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, 1).ok()
}

/// Table names are interpolated into DDL: only plain identifiers are allowed.
fn checked(table: &str) -> Result<&str, MaintenanceError> {
    let plain = !table.is_empty()
        && table.len() <= 40
        && table
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && table.as_bytes()[0].is_ascii_lowercase();
    if plain {
        Ok(table)
    } else {
        Err(MaintenanceError::TableName(table.to_owned()))
    }
}

async fn partitions(conn: &mut PgConnection, table: &str) -> Result<Vec<String>, MaintenanceError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT child.relname::text AS "name!" FROM pg_inherits
         JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid
         WHERE parent.relname = $1 ORDER BY 1"#,
        table
    )
    .fetch_all(conn)
    .await?)
}

fn bound(month: Date) -> String {
    format!(
        "{:04}-{:02}-01 00:00:00+00",
        month.year(),
        u8::from(month.month())
    )
}

/// Creates the partition for `month`, first taking out of the default partition the
/// rows it will cover (they are put back through the parent, into the new partition).
async fn create_partition(
    conn: &mut PgConnection,
    table: &str,
    month: Date,
) -> Result<i64, MaintenanceError> {
    let name = partition_name(table, month);
    let (from, to) = (bound(month), bound(add_months(month, 1)));
    let holding = format!("{name}_moving");
    let in_default: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table}_default WHERE created_at >= '{from}' AND created_at < '{to}'"
    )))
    .fetch_one(&mut *conn)
    .await?;
    if in_default > 0 {
        for statement in [
            format!("CREATE TEMP TABLE {holding} (LIKE {table}) ON COMMIT DROP"),
            format!(
                "WITH moved AS (DELETE FROM {table}_default WHERE created_at >= '{from}' AND created_at < '{to}' RETURNING *)
                 INSERT INTO {holding} SELECT * FROM moved"
            ),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await?;
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ('{from}') TO ('{to}')"
    )))
    .execute(&mut *conn)
    .await?;
    if in_default > 0 {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} SELECT * FROM {holding}"
        )))
        .execute(&mut *conn)
        .await?;
        tracing::warn!(table, partition = %name, rows = in_default, "rows moved out of the default partition");
    }
    Ok(in_default)
}

async fn maintain_table(
    conn: &mut PgConnection,
    policy: &TablePolicy,
    config: &MaintenanceConfig,
    this_month: Date,
    summary: &mut Summary,
) -> Result<(), MaintenanceError> {
    let table = checked(&policy.table)?;
    let newest_data: Option<OffsetDateTime> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT max(created_at) FROM {table}"
    )))
    .fetch_one(&mut *conn)
    .await?;
    let newest_month = newest_data
        .map(|t| first_of_month(t.date()))
        .filter(|m| *m > this_month)
        .unwrap_or(this_month);

    let existing = partitions(conn, table).await?;
    let premake = i32::try_from(config.premake).unwrap_or(4);
    for offset in 0..=premake {
        let month = add_months(newest_month, offset);
        let name = partition_name(table, month);
        if !existing.contains(&name) {
            summary.rows_moved += create_partition(conn, table, month).await?;
            summary.created.push(name);
        }
    }

    if let Some(months) = policy.retention_months {
        let cutoff = add_months(this_month, -i32::try_from(months).unwrap_or(i32::MAX));
        let mut monthly: Vec<(Date, String)> = partitions(conn, table)
            .await?
            .into_iter()
            .filter_map(|name| month_of(table, &name).map(|month| (month, name)))
            .collect();
        monthly.sort();
        let newest = monthly.last().map(|(month, _)| *month);
        for (month, name) in monthly {
            // Whole range older than the window; never the current or the newest one.
            let expired = add_months(month, 1) <= cutoff;
            if !expired || month == this_month || Some(month) == newest {
                continue;
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DETACH PARTITION {name}"
            )))
            .execute(&mut *conn)
            .await?;
            summary.detached.push(name.clone());
            if config.drop_detached {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {name}")))
                    .execute(&mut *conn)
                    .await?;
                summary.dropped.push(name);
            }
        }
    }

    let in_default: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table}_default"
    )))
    .fetch_one(&mut *conn)
    .await?;
    if in_default > 0 {
        tracing::warn!(table, rows = in_default, "rows in the default partition");
        crate::metrics::count("PartitionDefaultRows", &[("Table", table)]);
    }
    summary
        .rows_in_default
        .insert(table.to_owned(), Value::from(in_default));
    Ok(())
}

/// One maintenance run on the writer. `today` is injectable for tests.
///
/// Every run counts once in `PartitionMaintenanceRun` by outcome: `done`, `skipped`'s
/// reason (`locked`, `replica`) or `failed` (the transaction was rolled back).
pub async fn run(
    pool: &PgPool,
    config: &MaintenanceConfig,
    today: Date,
) -> Result<Summary, MaintenanceError> {
    let result = maintain(pool, config, today).await;
    let outcome = match &result {
        Ok(summary) => summary.skipped.as_deref().unwrap_or("done"),
        Err(_) => "failed",
    };
    crate::metrics::count("PartitionMaintenanceRun", &[("Outcome", outcome)]);
    result
}

/// Accounts active in the last 24 hours: not deleted, and signed in (password or
/// second factor) or refreshed a session. Emitted once a day as `ActiveAccounts` by
/// the scheduled run, beside `Signups` (counted at each signup), for the dashboard.
pub async fn active_accounts(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(DISTINCT l.account_id) AS "active!" FROM audit_log l
         JOIN accounts a ON a.id = l.account_id AND NOT a.deleted
         WHERE l.created_at >= now() - interval '24 hours'
           AND l.event_type IN ('LOGIN_SUCCESS', 'TOKEN_REFRESHED')"#
    )
    .fetch_one(pool)
    .await
}

/// Counts [`active_accounts`] and emits the gauge; a failure is logged and skipped
/// (the maintenance result does not depend on it).
pub async fn report_active_accounts(pool: &PgPool) -> Option<i64> {
    match active_accounts(pool).await {
        Ok(count) => {
            #[allow(clippy::cast_precision_loss)] // far below 2^52
            crate::metrics::emit(
                "ActiveAccounts",
                crate::metrics::Unit::Count,
                count as f64,
                &[],
            );
            Some(count)
        }
        Err(error) => {
            tracing::warn!(error = %error, "could not count active accounts");
            None
        }
    }
}

async fn maintain(
    pool: &PgPool,
    config: &MaintenanceConfig,
    today: Date,
) -> Result<Summary, MaintenanceError> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut tx = pool.begin().await?;
    let in_recovery = sqlx::query_scalar!(r#"SELECT pg_is_in_recovery() AS "in_recovery!""#)
        .fetch_one(&mut *tx)
        .await?;
    let locked = !in_recovery
        && sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock(hashtext($1)) AS "locked!""#,
            &config.lock_name
        )
        .fetch_one(&mut *tx)
        .await?;
    if in_recovery {
        summary.skipped = Some("replica".into());
    } else if !locked {
        summary.skipped = Some("locked".into());
    } else {
        let this_month = first_of_month(today);
        for policy in &config.tables {
            maintain_table(&mut tx, policy, config, this_month, &mut summary).await?;
        }
    }
    summary.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    if !in_recovery {
        sqlx::query!(
            "INSERT INTO partition_maintenance_runs
                 (skipped, created, detached, dropped, rows_moved, rows_in_default, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            summary.skipped.as_deref(),
            &summary.created,
            &summary.detached,
            &summary.dropped,
            summary.rows_moved,
            Value::Object(summary.rows_in_default.clone()),
            summary.duration_ms
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn months_add_across_years() {
        assert_eq!(add_months(date!(2026 - 11 - 01), 3), date!(2027 - 02 - 01));
        assert_eq!(
            add_months(date!(2026 - 01 - 01), -13),
            date!(2024 - 12 - 01)
        );
    }

    #[test]
    fn partition_names_round_trip() {
        let name = partition_name("audit_log", date!(2027 - 02 - 01));
        assert_eq!(name, "audit_log_p202702");
        assert_eq!(month_of("audit_log", &name), Some(date!(2027 - 02 - 01)));
        assert_eq!(month_of("audit_log", "audit_log_default"), None);
        assert_eq!(month_of("posts", &name), None);
    }

    #[test]
    fn only_plain_table_names_reach_ddl() {
        assert!(checked("audit_log").is_ok());
        for bad in ["", "Posts", "posts; DROP TABLE accounts", "a-b", "1posts"] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }
}
