//! Profile handlers: reads from the reader pool (writer fallback); writes, and the
//! ownership checks that guard them, in one writer transaction, answered from the
//! writer's own rows so a client always sees its write.

use axum::{Json, extract::Path};
use http::StatusCode;
use serde::Deserialize;
use shared::{
    ApiError,
    auth::caller::Caller,
    cursor::{Keyset, Page},
    http::extract::{ApiJson, ApiQuery},
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
};
use utoipa::IntoParams;

use crate::{
    request::{CreateProfile, UpdateProfile},
    response::Profile,
    store,
};

fn not_found() -> ApiError {
    ApiError::NotFound("No such profile".into())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    cursor: Option<String>,
    /// One account's profiles.
    account_id: Option<i64>,
}

/// `GET /api/profiles`: newest first, everyone's or one account's.
#[utoipa::path(get, path = "/api/profiles", tag = "profiles", operation_id = "listProfiles",
    summary = "Profiles, newest first, optionally one account's",
    params(ListQuery),
    responses((status = 200, description = "A page of profiles", body = Page<Profile>), Errors))]
pub async fn list(
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Profile>>, ApiError> {
    let scope = match query.account_id {
        Some(owner) => caller.scope_of(owner),
        None => Scope::Other,
    };
    caller.may(Resource::Profile, Action::Read, scope).await?;
    let state = caller.state();
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let account_id = query.account_id;
    let rows = state
        .db
        .read(|mut conn| async move { store::list(&mut conn, account_id, &page).await })
        .await?;
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

/// `GET /api/profiles/{id}`
#[utoipa::path(get, path = "/api/profiles/{id}", tag = "profiles", operation_id = "getProfile",
    summary = "One profile",
    params(("id" = i64, Path, description = "The profile's id")),
    responses((status = 200, description = "The profile", body = Profile), Errors))]
pub async fn get(caller: Caller, Path(id): Path<i64>) -> Result<Json<Profile>, ApiError> {
    let row = caller
        .state()
        .db
        .read(|mut conn| async move { store::find(&mut *conn, id).await })
        .await?
        .ok_or_else(not_found)?;
    caller
        .may_on(Resource::Profile, Action::Read, row.account_id)
        .await?;
    Ok(Json(row))
}

/// `POST /api/profiles`: a profile of the caller's own account.
#[utoipa::path(post, path = "/api/profiles", tag = "profiles", operation_id = "createProfile",
    summary = "Create a profile of the caller's account",
    request_body = CreateProfile,
    responses((status = 201, description = "The profile", body = Profile), Errors, BodyErrors))]
pub async fn create(
    caller: Caller,
    ApiJson(body): ApiJson<CreateProfile>,
) -> Result<(StatusCode, Json<Profile>), ApiError> {
    caller
        .may(Resource::Profile, Action::Create, Scope::Own)
        .await?;
    let profile = body.parse()?;
    let account_id = caller.principal.account_id;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            // An access token outlives its account's deletion by up to its lifetime; a
            // deleted account must not gain profiles in that window.
            if !store::lock_live_account(&mut tx, account_id).await? {
                return Err(ApiError::INVALID_TOKEN);
            }
            let row = store::insert(&mut tx, account_id, &profile).await?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(row)))
        })
        .await
}

/// `PATCH /api/profiles/{id}`: the owner, or a moderator or admin.
#[utoipa::path(patch, path = "/api/profiles/{id}", tag = "profiles", operation_id = "updateProfile",
    summary = "Change a profile (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The profile's id")),
    request_body = UpdateProfile,
    responses((status = 200, description = "The profile after the change", body = Profile), Errors, BodyErrors))]
pub async fn update(
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateProfile>,
) -> Result<Json<Profile>, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(&mut tx, Resource::Profile, Action::Update, owner, id)
                .await?;
            // Parsed after the checks, as every update route does; cloned, as the
            // transaction may run again.
            let change = body.clone().parse()?;
            let row = store::update(&mut tx, id, &change).await?;
            tx.commit().await?;
            Ok(Json(row))
        })
        .await
}

/// `DELETE /api/profiles/{id}`: soft; the profile is 404 from then on.
#[utoipa::path(delete, path = "/api/profiles/{id}", tag = "profiles", operation_id = "deleteProfile",
    summary = "Delete a profile (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The profile's id")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(caller: Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(&mut tx, Resource::Profile, Action::Delete, owner, id)
                .await?;
            store::soft_delete(&mut tx, id).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
