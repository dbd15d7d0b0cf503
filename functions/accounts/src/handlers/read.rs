//! `GET /api/accounts` (admin) and `GET /api/accounts/{id}`.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::{Principal, roles::AdminOnly},
    cursor::Keyset,
    domain::Role,
    http::{context::RequestContext, extract::ApiQuery},
    permissions::{self, Action, Resource, Scope},
    store::accounts::{self, Account},
};

use super::not_found;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Newest first, full account objects. Listing every account (emails included) is an
/// admin tool, narrower than the matrix's "others' accounts: R" for every role, so the
/// role gate comes first and the matrix is still asked.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    AdminOnly(admin): AdminOnly,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    permissions::authorize(
        &state,
        &context,
        Some(&admin),
        Resource::Account,
        Action::Read,
        Scope::Other,
    )
    .await?;
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let rows = state
        .db
        .read(|pool| async move { accounts::page(&pool, &page).await })
        .await?;
    let (rows, next) = page.page(&keys.cursor, rows, |row| (row.created_at, row.id));
    let items: Vec<Value> = rows.iter().map(Account::to_json).collect();
    Ok(Json(json!({ "items": items, "nextCursor": next })))
}

/// The caller's own account and admins see everything but the hash; anyone else
/// signed in sees the public fields.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let scope = Scope::of(Some(&principal), id);
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Account,
        Action::Read,
        scope,
    )
    .await?;
    let account = state
        .db
        .read(|pool| async move { accounts::find_by_id(&pool, id).await })
        .await?
        .ok_or_else(not_found)?;
    let full = scope == Scope::Own || Role::from_id(principal.role_id) == Some(Role::Admin);
    Ok(Json(if full {
        account.to_json()
    } else {
        account.to_public_json()
    }))
}
