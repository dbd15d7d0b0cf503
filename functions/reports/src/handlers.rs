//! Report handlers. Every route asks the permission matrix first (reports have no
//! owner: `Scope::Any`); reads use the reader pool (writer fallback), writes one writer
//! transaction whose response is the writer's row.

use axum::{Json, extract::Path};
use http::StatusCode;
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::Caller,
    cursor::{Keyset, Page},
    domain::ValidationErrors,
    http::extract::{ApiJson, ApiQuery},
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    store::audit::{EventType, Severity},
};

use crate::{
    request::{CreateReport, ListQuery, Resolution, Status, UpdateReport},
    response::Report,
    store,
};

fn not_found() -> ApiError {
    ApiError::NotFound("No such report".into())
}

/// `POST /api/reports`: the target must exist and not be deleted.
#[utoipa::path(post, path = "/api/reports", tag = "reports", operation_id = "createReport",
    summary = "Report a post, comment, profile or account",
    request_body = CreateReport,
    responses((status = 201, description = "The report", body = Report), Errors, BodyErrors))]
pub async fn create(
    caller: Caller,
    ApiJson(body): ApiJson<CreateReport>,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    caller
        .may(Resource::Report, Action::Create, Scope::Any)
        .await?;
    let report = body.parse()?;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let exists =
                store::target_exists(&mut tx, report.target_type, report.target_id).await?;
            if !exists {
                return Err(ValidationErrors::one(
                    "targetId",
                    format!("no such {}", report.target_type.as_str()),
                ));
            }
            let row = store::insert(&mut tx, caller.principal.account_id, &report).await?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(row)))
        })
        .await
}

/// `GET /api/reports?status=`: newest first.
#[utoipa::path(get, path = "/api/reports", tag = "reports", operation_id = "listReports",
    summary = "Reports, newest first (moderator/admin)",
    params(ListQuery),
    responses((status = 200, description = "A page of reports", body = Page<Report>), Errors))]
pub async fn list(
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Report>>, ApiError> {
    caller
        .may(Resource::Report, Action::Read, Scope::Any)
        .await?;
    let state = caller.state();
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let status = query.status;
    let rows = state
        .db
        .read(|mut conn| async move { store::list(&mut conn, status, &page).await })
        .await?;
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

/// `GET /api/reports/{id}`
#[utoipa::path(get, path = "/api/reports/{id}", tag = "reports", operation_id = "getReport",
    summary = "A report (moderator/admin)",
    params(("id" = i64, Path, description = "The report's id")),
    responses((status = 200, description = "The report", body = Report), Errors))]
pub async fn get(caller: Caller, Path(id): Path<i64>) -> Result<Json<Report>, ApiError> {
    caller
        .may(Resource::Report, Action::Read, Scope::Any)
        .await?;
    let row = caller
        .state()
        .db
        .read(|mut conn| async move { store::find(&mut conn, id).await })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(row))
}

/// `PATCH /api/reports/{id}`: review or resolve, in one transaction on the locked row;
/// audited as REPORT_UPDATED (in the same transaction) with the status before and after.
#[utoipa::path(patch, path = "/api/reports/{id}", tag = "reports", operation_id = "updateReport",
    summary = "Review or resolve a report (moderator/admin)",
    params(("id" = i64, Path, description = "The report's id")),
    request_body = UpdateReport,
    responses((status = 200, description = "The report after the change", body = Report), Errors, BodyErrors))]
pub async fn update(
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateReport>,
) -> Result<Json<Report>, ApiError> {
    caller
        .may(Resource::Report, Action::Update, Scope::Any)
        .await?;
    let change = body.parse()?;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            caller.confirm(&mut tx).await?;
            let from = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            let resolution = Resolution::between(Status::from_db(&from), change.status);
            let row = store::update(
                &mut tx,
                id,
                change.status,
                &change.note,
                resolution,
                caller.principal.account_id,
            )
            .await?;
            caller
                .audit_in(
                    &mut tx,
                    EventType::ReportUpdated,
                    Severity::Info,
                    json!({ "reportId": id, "from": from, "to": change.status.as_str() }),
                )
                .await?;
            tx.commit().await?;
            Ok(Json(row))
        })
        .await
}

/// `DELETE /api/reports/{id}`: soft; the report is 404 from then on.
#[utoipa::path(delete, path = "/api/reports/{id}", tag = "reports", operation_id = "deleteReport",
    summary = "Soft-delete a report (admin)",
    params(("id" = i64, Path, description = "The report's id")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(caller: Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    caller
        .may(Resource::Report, Action::Delete, Scope::Any)
        .await?;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            caller.confirm(&mut tx).await?;
            // One statement: the existence check and the delete cannot be separated.
            if !store::soft_delete(&mut *tx, id).await? {
                return Err(not_found());
            }
            caller
                .audit_in(
                    &mut tx,
                    EventType::ReportDeleted,
                    Severity::Info,
                    json!({ "reportId": id }),
                )
                .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
