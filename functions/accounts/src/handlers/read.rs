//! `GET /api/accounts` (admin) and `GET /api/accounts/{id}`.

use axum::{Json, extract::Path};
use serde::Deserialize;
use shared::{
    ApiError,
    auth::caller::{AdminOnly, Caller},
    cursor::{Keyset, Page},
    domain::Role,
    http::extract::ApiQuery,
    openapi::Errors,
    permissions::{Action, Resource, Scope},
    response::Account,
    store::accounts,
};

use utoipa::IntoParams;

use super::not_found;
use crate::response::AccountView;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    cursor: Option<String>,
}

/// Newest first, full account objects. Listing every account (emails included) is an
/// admin tool, narrower than the matrix's "others' accounts: R" for every role, so the
/// role gate comes first and the matrix is still asked.
#[utoipa::path(get, path = "/api/accounts", tag = "accounts", operation_id = "listAccounts",
    summary = "Every account, newest first (admin)",
    params(ListQuery),
    responses((status = 200, description = "A page of accounts", body = Page<Account>), Errors))]
pub async fn list(
    caller: Caller<AdminOnly>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Account>>, ApiError> {
    caller
        .may(Resource::Account, Action::Read, Scope::Other)
        .await?;
    let state = caller.state();
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let rows = state
        .db
        .read(|mut conn| async move { accounts::page(&mut *conn, &page).await })
        .await?;
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

/// The caller's own account and admins see everything but the hash; anyone else
/// signed in sees the public fields.
#[utoipa::path(get, path = "/api/accounts/{id}", tag = "accounts", operation_id = "getAccount",
    summary = "An account; others' accounts show public fields only unless the caller is an admin",
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 200, description = "The account", body = AccountView), Errors))]
pub async fn get(caller: Caller, Path(id): Path<i64>) -> Result<Json<AccountView>, ApiError> {
    let scope = caller.scope_of(id);
    caller.may(Resource::Account, Action::Read, scope).await?;
    let account = caller
        .state()
        .db
        .read(|mut conn| async move { accounts::find_by_id(&mut *conn, id).await })
        .await?
        .ok_or_else(not_found)?;
    let full = scope == Scope::Own || Role::from_id(caller.principal.role_id) == Some(Role::Admin);
    Ok(Json(if full {
        AccountView::Full(account.into())
    } else {
        AccountView::Public(account.into())
    }))
}
