//! `GET /api/admin/partitions` (recent maintenance runs) and
//! `POST /api/admin/partitions/run` (maintenance now; step-up).

use std::sync::Arc;

use axum::{Extension, Json, extract::State};
use serde_json::{Map, Value};
use shared::partitions::{self as maintenance, MaintenanceConfig, Summary};
use shared::{
    ApiError, AppState,
    auth::caller::{AdminOnly, SteppedUpAdmin},
    cursor::Page,
    http::context::RequestContext,
    openapi::Errors,
    store::audit::{self, AuditEvent, EventType, Severity},
};
use time::OffsetDateTime;

use crate::response::PartitionRun;

/// The latest 20 runs, newest first: one page.
#[utoipa::path(get, path = "/api/admin/partitions", tag = "admin", operation_id = "partitionRuns",
    summary = "Recent partition maintenance runs (admin)",
    responses((status = 200, description = "The runs, one page", body = Page<PartitionRun>), Errors))]
pub async fn runs(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
) -> Result<Json<Page<PartitionRun>>, ApiError> {
    let rows = sqlx::query!(
        "SELECT id, ran_at, skipped, created, detached, dropped, rows_moved, rows_in_default,
                duration_ms
         FROM partition_maintenance_runs ORDER BY ran_at DESC, id DESC LIMIT 20"
    )
    .fetch_all(state.db.writer_pool())
    .await?;
    Ok(Json(Page::single(rows.into_iter().map(|row| {
        PartitionRun {
            id: row.id,
            ran_at: row.ran_at,
            summary: Summary {
                skipped: row.skipped,
                created: row.created,
                detached: row.detached,
                dropped: row.dropped,
                rows_moved: row.rows_moved,
                // Written from a map (`Summary::rows_in_default`), so always an object.
                rows_in_default: match row.rows_in_default {
                    Value::Object(map) => map,
                    _ => Map::new(),
                },
                duration_ms: row.duration_ms,
            },
        }
    }))))
}

#[utoipa::path(post, path = "/api/admin/partitions/run", tag = "admin", operation_id = "runPartitions",
    summary = "Run partition maintenance now (admin + step-up)",
    responses((status = 200, description = "The run's report", body = Summary), Errors))]
pub async fn run(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
) -> Result<Json<Summary>, ApiError> {
    let config = MaintenanceConfig::from_env().map_err(ApiError::internal)?;
    let today = OffsetDateTime::now_utc().date();
    let summary = maintenance::run(state.db.writer_pool(), &config, today)
        .await
        .map_err(ApiError::internal)?;
    audit::record(
        &state.db,
        &context,
        AuditEvent::new(
            EventType::PartitionMaintenanceRun,
            Severity::Info,
            Some(admin.account_id),
        )
        .details(serde_json::to_value(&summary).unwrap_or_default()),
    )
    .await;
    Ok(Json(summary))
}
