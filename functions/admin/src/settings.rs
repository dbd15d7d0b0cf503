//! System settings: `GET /api/admin/settings`, `GET|PUT|DELETE /api/admin/settings/{key}`.
//! Reads need the matrix's Settings read (admins); writes also need step-up, and are
//! audited as SETTINGS_CHANGED (the key and the action, never the value).

mod request;
mod store;

use axum::{Json, extract::Path};
use http::StatusCode;
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::{Caller, SteppedUpAdmin},
    cursor::Page,
    http::extract::ApiJson,
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    store::audit::{EventType, Severity},
};

use request::{Key, PutSetting};

use crate::response::Setting;

fn not_found() -> ApiError {
    ApiError::NotFound("No such setting".into())
}

/// `{items: [...], nextCursor: null}`, ordered by key: the set is small, one page.
#[utoipa::path(get, path = "/api/admin/settings", tag = "admin", operation_id = "listSettings",
    summary = "Every system setting (admin)",
    responses((status = 200, description = "The settings, one page", body = Page<Setting>), Errors))]
pub async fn list(caller: Caller) -> Result<Json<Page<Setting>>, ApiError> {
    caller
        .may(Resource::Settings, Action::Read, Scope::Any)
        .await?;
    let rows = caller
        .state()
        .db
        .read(|mut conn| async move { store::list(&mut conn).await })
        .await?;
    Ok(Json(Page::single(rows)))
}

#[utoipa::path(get, path = "/api/admin/settings/{key}", tag = "admin", operation_id = "getSetting",
    summary = "One system setting (admin)",
    params(("key" = String, Path, description = "The setting's key")),
    responses((status = 200, description = "The setting", body = Setting), Errors))]
pub async fn get(caller: Caller, Path(key): Path<String>) -> Result<Json<Setting>, ApiError> {
    caller
        .may(Resource::Settings, Action::Read, Scope::Any)
        .await?;
    let key = Key::parse(&key)?;
    let row = caller
        .state()
        .db
        .read(|mut conn| {
            let key = key.clone();
            async move { store::find(&mut conn, &key).await }
        })
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(row))
}

/// `PUT /api/admin/settings/{key} {value}`: creates or replaces; 200 with the setting.
#[utoipa::path(put, path = "/api/admin/settings/{key}", tag = "admin", operation_id = "putSetting",
    summary = "Create or replace a setting (admin + step-up)",
    params(("key" = String, Path, description = "The setting's key")),
    request_body = PutSetting,
    responses((status = 200, description = "The setting", body = Setting), Errors, BodyErrors))]
pub async fn put(
    caller: Caller<SteppedUpAdmin>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PutSetting>,
) -> Result<Json<Setting>, ApiError> {
    let key = Key::parse(&key)?;
    let value = body.parse()?;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            caller.confirm(&mut tx).await?;
            let exists = store::lock(&mut tx, &key).await?;
            // The matrix tells creating from replacing, so both stay its decision.
            let action = if exists {
                Action::Update
            } else {
                Action::Create
            };
            caller.may(Resource::Settings, action, Scope::Any).await?;
            let row = store::upsert(&mut tx, &key, &value, caller.principal.0.account_id).await?;
            caller
                .audit_in(
                    &mut tx,
                    EventType::SettingsChanged,
                    Severity::Critical,
                    json!({ "key": key.as_str(), "action": "put", "created": !exists }),
                )
                .await?;
            tx.commit().await?;
            Ok(Json(row))
        })
        .await
}

/// `DELETE /api/admin/settings/{key}`: 204, or 404 when there is no such setting.
#[utoipa::path(delete, path = "/api/admin/settings/{key}", tag = "admin", operation_id = "deleteSetting",
    summary = "Delete a setting (admin + step-up)",
    params(("key" = String, Path, description = "The setting's key")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(
    caller: Caller<SteppedUpAdmin>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller
        .may(Resource::Settings, Action::Delete, Scope::Any)
        .await?;
    let key = Key::parse(&key)?;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            caller.confirm(&mut tx).await?;
            // One statement: the existence check and the delete cannot be separated.
            if !store::delete(&mut *tx, &key).await? {
                return Err(not_found());
            }
            caller
                .audit_in(
                    &mut tx,
                    EventType::SettingsChanged,
                    Severity::Critical,
                    json!({ "key": key.as_str(), "action": "delete" }),
                )
                .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
