//! `GET /api/auth/sessions`, `DELETE /api/auth/sessions/{id}`, `POST /api/auth/logout-all`.

use std::sync::Arc;

use crate::response::{Session, Sessions};
use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde_json::json;
use shared::openapi::Errors;
use shared::{
    ApiError, AppState,
    auth::{Principal, unix_now},
    http::context::RequestContext,
    store::audit::{self, AuditEvent, EventType, Severity},
};

#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth", operation_id = "listSessions",
    summary = "The caller's sessions",
    responses((status = 200, description = "The sessions; `current` marks the one of the access token", body = Sessions), Errors))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Sessions>, ApiError> {
    let families = state
        .families
        .list_active(principal.account_id, unix_now())
        .await?;
    let sessions = families
        .into_iter()
        .map(|family| Session::of(family, &principal.session_id))
        .collect();
    Ok(Json(Sessions { sessions }))
}

/// Someone else's session id answers 404 like an unknown one: ids are not confirmed.
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "auth", operation_id = "revokeSession",
    summary = "Revoke one of the caller's sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 204, description = "Revoked"), Errors))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let family = state.families.get(&id).await?;
    let Some(family) = family.filter(|f| f.account_id == principal.account_id && !f.revoked) else {
        return Err(ApiError::NotFound("No such session".into()));
    };
    state.families.revoke(&family.id).await?;
    audit::record(
        &state.db,
        &context,
        AuditEvent::new(
            EventType::SessionRevoked,
            Severity::Info,
            Some(principal.account_id),
        )
        .details(json!({ "familyId": family.id })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth", operation_id = "logoutAll",
    summary = "Revoke every session of the caller",
    responses((status = 204, description = "Every session revoked"), Errors))]
pub async fn logout_all(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let revoked = state
        .families
        .revoke_all(principal.account_id, None, unix_now())
        .await?;
    audit::record(
        &state.db,
        &context,
        AuditEvent::new(
            EventType::LogoutAll,
            Severity::Info,
            Some(principal.account_id),
        )
        .details(json!({ "sessionsRevoked": revoked })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
