//! Report handlers. Every route asks the permission matrix first (reports have no
//! owner: `Scope::Any`); reads use the reader pool (writer fallback), writes one writer
//! transaction whose response is the writer's row.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::Principal,
    cursor::Keyset,
    domain::ValidationErrors,
    http::{
        context::RequestContext,
        extract::{ApiJson, ApiQuery},
    },
    permissions::{self, Action, Resource, Scope},
    store::audit::{self, AuditEvent, Severity},
};

use crate::{
    request::{CreateReport, ListQuery, Resolution, Status, UpdateReport},
    store,
};

fn not_found() -> ApiError {
    ApiError::NotFound("No such report".into())
}

async fn allow(
    state: &AppState,
    context: &RequestContext,
    principal: &Principal,
    action: Action,
) -> Result<(), ApiError> {
    permissions::authorize(
        state,
        context,
        Some(principal),
        Resource::Report,
        action,
        Scope::Any,
    )
    .await
}

/// `POST /api/reports`: the target must exist and not be deleted.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateReport>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    allow(&state, &context, &principal, Action::Create).await?;
    let report = body.parse()?;
    let mut tx = state.db.writer().begin().await?;
    let exists = store::target_exists(&mut tx, report.target_type, report.target_id).await?;
    if !exists {
        return Err(ValidationErrors::one(
            "targetId",
            format!("no such {}", report.target_type.as_str()),
        ));
    }
    let row = store::insert(&mut tx, principal.account_id, &report).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(row.to_json())))
}

/// `GET /api/reports?status=`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    allow(&state, &context, &principal, Action::Read).await?;
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let status = query.status;
    let rows = state
        .db
        .read(|pool| async move { store::list(&pool, status, &page).await })
        .await?;
    let (rows, next) = page.page(&keys.cursor, rows, |row| (row.created_at, row.id));
    let items: Vec<Value> = rows.iter().map(store::ReportRow::to_json).collect();
    Ok(Json(json!({ "items": items, "nextCursor": next })))
}

/// `GET /api/reports/{id}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    allow(&state, &context, &principal, Action::Read).await?;
    let row = state
        .db
        .read(|pool| async move { store::find(&pool, id).await })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(row.to_json()))
}

/// `PATCH /api/reports/{id}`: review or resolve, in one transaction on the locked row;
/// audited as REPORT_UPDATED with the status before and after.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateReport>,
) -> Result<Json<Value>, ApiError> {
    allow(&state, &context, &principal, Action::Update).await?;
    let change = body.parse()?;
    let mut tx = state.db.writer().begin().await?;
    let from = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
    let resolution = Resolution::between(Status::from_db(&from), change.status);
    let row = store::update(
        &mut tx,
        id,
        change.status,
        &change.note,
        resolution,
        principal.account_id,
    )
    .await?;
    tx.commit().await?;
    // After the commit, so the log never shows a change that was rolled back.
    audit::record(
        state.db.writer(),
        &context,
        AuditEvent::new("REPORT_UPDATED", Severity::Info, Some(principal.account_id))
            .details(json!({ "reportId": id, "from": from, "to": change.status.as_str() })),
    )
    .await;
    Ok(Json(row.to_json()))
}

/// `DELETE /api/reports/{id}`: soft; the report is 404 from then on.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    allow(&state, &context, &principal, Action::Delete).await?;
    // One statement: the existence check and the delete cannot be separated.
    let deleted = store::soft_delete(state.db.writer(), id).await?;
    if !deleted {
        return Err(not_found());
    }
    audit::record(
        state.db.writer(),
        &context,
        AuditEvent::new("REPORT_DELETED", Severity::Info, Some(principal.account_id))
            .details(json!({ "reportId": id })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
