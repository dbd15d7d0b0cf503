//! `GET /api/auth/me` and `POST /api/auth/password`.

use std::sync::Arc;

use crate::tokens;
use axum::{Extension, Json, extract::State};
use http::StatusCode;
use serde::Deserialize;
use shared::openapi::{BodyErrors, Errors};
use shared::{
    ApiError, AppState,
    auth::{Principal, reauth},
    domain::{NewPassword, ValidationErrors},
    http::{context::RequestContext, extract::ApiJson},
    response::AccountReply,
    store::{
        accounts,
        audit::{EventType, Severity},
    },
};
use utoipa::ToSchema;

/// From the writer: a client reads its own account right after signing up or changing
/// it, and a replica a few milliseconds behind would answer 404 (read-your-writes).
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", operation_id = "me",
    summary = "The caller's account",
    responses((status = 200, description = "The account", body = AccountReply), Errors))]
pub async fn me(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<AccountReply>, ApiError> {
    let account = accounts::find_by_id(&mut *state.db.writer().await?, principal.account_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("The account no longer exists".into()))?;
    Ok(Json(AccountReply::from(account)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[utoipa::path(post, path = "/api/auth/password", tag = "auth", operation_id = "changePassword",
    summary = "Change the caller's password; every other session is revoked",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed"), Errors, BodyErrors))]
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let account = accounts::find_by_id(&mut *state.db.writer().await?, principal.account_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("The account no longer exists".into()))?;
    let mut errors = ValidationErrors::default();
    // On the account's password counter, as logins and re-authentication are: a
    // stolen token cannot guess the password here faster than at login.
    if !reauth::password_matches(
        &state,
        account.id,
        &account.password_hash,
        &body.current_password,
    )
    .await?
    {
        errors.add("currentPassword", "is incorrect");
    }
    let new_password = errors.check(
        "newPassword",
        NewPassword::parse(
            &body.new_password,
            &state.config.auth.password,
            &[&account.username, &account.email],
        ),
    );
    let (Some(new_password), true) = (new_password, errors.is_empty()) else {
        return Err(errors.into());
    };

    let hash = state
        .passwords
        .hash(new_password.expose())
        .await
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    accounts::set_password_hash(&mut *tx, account.id, &hash, true).await?;
    tokens::revoke_others(
        &state,
        &mut tx,
        &context,
        &principal,
        EventType::PasswordChanged,
        Severity::Info,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
