//! `GET /api/admin/database/stats`: what this instance sees of PostgreSQL.

use std::{sync::Arc, time::Instant};

use axum::{Json, extract::State};
use serde_json::{Value, json};
use shared::{ApiError, AppState, auth::caller::AdminOnly, db::PgPool};

async fn reachability(pool: &PgPool) -> Value {
    let started = Instant::now();
    let reachable = sqlx::query("SELECT 1").execute(pool).await.is_ok();
    json!({
        "reachable": reachable,
        "responseTimeMs": (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0,
        "size": pool.size(),
        "idle": pool.num_idle(),
    })
}

pub async fn stats(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
) -> Result<Json<Value>, ApiError> {
    let (writer, reader, replica) = tokio::join!(
        reachability(state.db.writer_pool()),
        reachability(state.db.reader_pool()),
        state.db.replica_status(),
    );
    let pool = state.db.writer_pool();
    // reltuples is the planner's estimate; a partitioned parent's is the sum of its children.
    let tables: Vec<(String, f64)> = sqlx::query_as(
        "SELECT c.relname::text,
                CASE WHEN c.relkind = 'p'
                     THEN (SELECT coalesce(sum(greatest(k.reltuples, 0)), 0)::float8 FROM pg_inherits i
                           JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = c.oid)
                     ELSE greatest(c.reltuples, 0)::float8 END
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname NOT LIKE '\\_sqlx%'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let partitions: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT parent.relname::text, child.relname::text, pg_get_expr(child.relpartbound, child.oid)
         FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent
         JOIN pg_class child ON child.oid = inhrelid
         WHERE parent.relkind = 'p' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let mut by_table = serde_json::Map::new();
    for (parent, child, bound) in partitions {
        let list = by_table.entry(parent).or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(json!({ "name": child, "range": bound }));
        }
    }
    let lag = replica.map(|status| status.lag.as_secs_f64()).ok();
    Ok(Json(json!({
        "writer": writer,
        "reader": reader,
        "replicationLagSeconds": lag,
        // Where this instance's reads went since it started: what read-your-writes costs.
        "reads": state.db.read_shares(),
        "rowEstimates": tables.into_iter().map(|(t, n)| (t, json!(n.round()))).collect::<serde_json::Map<_, _>>(),
        "partitions": by_table,
    })))
}
