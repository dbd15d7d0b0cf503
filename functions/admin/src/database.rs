//! `GET /api/admin/database/stats`: what this instance sees of PostgreSQL.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use axum::{Json, extract::State};
use shared::{ApiError, AppState, auth::caller::AdminOnly, db::PgPool, openapi::Errors};

use crate::response::{DatabaseStats, PartitionBound, PoolStats};

async fn reachability(pool: &PgPool) -> PoolStats {
    let started = Instant::now();
    let reachable = sqlx::query("SELECT 1").execute(pool).await.is_ok();
    PoolStats {
        reachable,
        response_time_ms: (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0,
        size: pool.size(),
        idle: pool.num_idle(),
    }
}

#[utoipa::path(get, path = "/api/admin/database/stats", tag = "admin", operation_id = "databaseStats",
    summary = "Pools, replica lag, row estimates and partitions (admin)",
    responses((status = 200, description = "The statistics", body = DatabaseStats), Errors))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
) -> Result<Json<DatabaseStats>, ApiError> {
    let (writer, reader, replica) = tokio::join!(
        reachability(state.db.writer_pool()),
        reachability(state.db.reader_pool()),
        state.db.replica_status(),
    );
    let pool = state.db.writer_pool();
    // reltuples is the planner's estimate; a partitioned parent's is the sum of its children.
    let tables = sqlx::query!(
        r#"SELECT c.relname::text AS "table!",
                CASE WHEN c.relkind = 'p'
                     THEN (SELECT coalesce(sum(greatest(k.reltuples, 0)), 0)::float8 FROM pg_inherits i
                           JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = c.oid)
                     ELSE greatest(c.reltuples, 0)::float8 END AS "rows!"
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname NOT LIKE '\_sqlx%'
         ORDER BY 1"#
    )
    .fetch_all(pool)
    .await?;
    let partitions = sqlx::query!(
        r#"SELECT parent.relname::text AS "parent!", child.relname::text AS "name!",
                pg_get_expr(child.relpartbound, child.oid) AS "range!"
         FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent
         JOIN pg_class child ON child.oid = inhrelid
         WHERE parent.relkind = 'p' ORDER BY 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    let mut by_table: BTreeMap<String, Vec<PartitionBound>> = BTreeMap::new();
    for row in partitions {
        by_table
            .entry(row.parent)
            .or_default()
            .push(PartitionBound {
                name: row.name,
                range: row.range,
            });
    }
    Ok(Json(DatabaseStats {
        writer,
        reader,
        replication_lag_seconds: replica.map(|status| status.lag.as_secs_f64()).ok(),
        reads: state.db.read_shares(),
        row_estimates: tables
            .into_iter()
            .map(|row| (row.table, row.rows.round()))
            .collect(),
        partitions: by_table,
    }))
}
