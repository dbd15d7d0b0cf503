//! Profile handlers: reads from the reader pool (writer fallback); writes, and the
//! ownership checks that guard them, in one writer transaction, answered from the
//! writer's own rows so a client always sees its write.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::Principal,
    cursor::Keyset,
    http::{
        context::RequestContext,
        extract::{ApiJson, ApiQuery},
    },
    permissions::{self, Action, Resource, Scope},
};

use crate::{
    request::{CreateProfile, UpdateProfile},
    store,
};

fn not_found() -> ApiError {
    ApiError::NotFound("No such profile".into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    account_id: Option<i64>,
}

/// `GET /api/profiles`: newest first, everyone's or one account's.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = match query.account_id {
        Some(owner) => Scope::of(Some(&principal), owner),
        None => Scope::Other,
    };
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Profile,
        Action::Read,
        scope,
    )
    .await?;
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let account_id = query.account_id;
    let rows = state
        .db
        .read(|pool| async move { store::list(&pool, account_id, &page).await })
        .await?;
    let (rows, next) = page.page(&keys.cursor, rows, |row| (row.created_at, row.id));
    let items: Vec<Value> = rows.iter().map(store::ProfileRow::to_json).collect();
    Ok(Json(json!({ "items": items, "nextCursor": next })))
}

/// `GET /api/profiles/{id}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .db
        .read(|pool| async move { store::find(&pool, id).await })
        .await?
        .ok_or_else(not_found)?;
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Profile,
        Action::Read,
        Scope::of(Some(&principal), row.account_id),
    )
    .await?;
    Ok(Json(row.to_json()))
}

/// `POST /api/profiles`: a profile of the caller's own account.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateProfile>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Profile,
        Action::Create,
        Scope::Own,
    )
    .await?;
    let profile = body.parse()?;
    let mut tx = state.db.writer().begin().await?;
    // An access token outlives its account's deletion by up to its lifetime; a
    // deleted account must not gain profiles in that window.
    if !store::lock_live_account(&mut tx, principal.account_id).await? {
        return Err(ApiError::INVALID_TOKEN);
    }
    let row = store::insert(&mut tx, principal.account_id, &profile).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(row.to_json())))
}

/// `PATCH /api/profiles/{id}`: the owner, or a moderator or admin.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateProfile>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.db.writer().begin().await?;
    let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Profile,
        Action::Update,
        Scope::of(Some(&principal), owner),
    )
    .await?;
    let change = body.parse()?;
    let row = store::update(&mut tx, id, &change).await?;
    tx.commit().await?;
    Ok(Json(row.to_json()))
}

/// `DELETE /api/profiles/{id}`: soft; the profile is 404 from then on.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.db.writer().begin().await?;
    let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Profile,
        Action::Delete,
        Scope::of(Some(&principal), owner),
    )
    .await?;
    store::soft_delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
