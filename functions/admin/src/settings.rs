//! System settings: `GET /api/admin/settings`, `GET|PUT|DELETE /api/admin/settings/{key}`.
//! Reads need the matrix's Settings read (admins); writes also need step-up, and are
//! audited as SETTINGS_CHANGED (the key and the action, never the value).

mod request;
mod store;

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::{Principal, roles::SteppedUpAdmin},
    http::{context::RequestContext, extract::ApiJson},
    permissions::{self, Action, Resource, Scope},
    store::audit::{self, AuditEvent, Severity},
};

use request::{Key, PutSetting};

fn not_found() -> ApiError {
    ApiError::NotFound("No such setting".into())
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
        Resource::Settings,
        action,
        Scope::Any,
    )
    .await
}

async fn audit_change(
    state: &AppState,
    context: &RequestContext,
    admin: &Principal,
    details: Value,
) {
    audit::record(
        state.db.writer(),
        context,
        AuditEvent::new(
            "SETTINGS_CHANGED",
            Severity::Warning,
            Some(admin.account_id),
        )
        .details(details),
    )
    .await;
}

/// `{items: [...], nextCursor: null}`, ordered by key: the set is small, one page.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    allow(&state, &context, &principal, Action::Read).await?;
    let rows = state
        .db
        .read(|pool| async move { store::list(&pool).await })
        .await?;
    let items: Vec<Value> = rows.iter().map(store::SettingRow::to_json).collect();
    Ok(Json(json!({ "items": items, "nextCursor": null })))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    allow(&state, &context, &principal, Action::Read).await?;
    let key = Key::parse(&key)?;
    let row = state
        .db
        .read(|pool| {
            let key = key.clone();
            async move { store::find(&pool, &key).await }
        })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(row.to_json()))
}

/// `PUT /api/admin/settings/{key} {value}`: creates or replaces; 200 with the setting.
pub async fn put(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PutSetting>,
) -> Result<Json<Value>, ApiError> {
    let key = Key::parse(&key)?;
    let value = body.parse()?;
    let mut tx = state.db.writer().begin().await?;
    let exists = store::lock(&mut tx, &key).await?;
    // The matrix tells creating from replacing, so both stay its decision.
    let action = if exists {
        Action::Update
    } else {
        Action::Create
    };
    allow(&state, &context, &admin, action).await?;
    let row = store::upsert(&mut tx, &key, &value, admin.account_id).await?;
    tx.commit().await?;
    audit_change(
        &state,
        &context,
        &admin,
        json!({ "key": key.as_str(), "action": "put", "created": !exists }),
    )
    .await;
    Ok(Json(row.to_json()))
}

/// `DELETE /api/admin/settings/{key}`: 204, or 404 when there is no such setting.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    allow(&state, &context, &admin, Action::Delete).await?;
    let key = Key::parse(&key)?;
    // One statement: the existence check and the delete cannot be separated.
    if !store::delete(state.db.writer(), &key).await? {
        return Err(not_found());
    }
    audit_change(
        &state,
        &context,
        &admin,
        json!({ "key": key.as_str(), "action": "delete" }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
