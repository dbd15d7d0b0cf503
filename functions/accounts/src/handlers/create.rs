//! `POST /api/accounts`: an admin creates an account with any role.

use axum::Json;
use http::StatusCode;
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::Caller,
    auth::step_up,
    domain::Role,
    http::extract::ApiJson,
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    response::AccountReply,
    store::{
        accounts::{self, NewAccount},
        audit::{EventType, Severity},
    },
};

use crate::request::CreateAccount;

/// 201 `{account}`. A taken username or email is a 409.
#[utoipa::path(post, path = "/api/accounts", tag = "accounts", operation_id = "createAccount",
    summary = "Create an account of any role (admin; step-up for admin or moderator)",
    request_body = CreateAccount,
    responses((status = 201, description = "The account", body = AccountReply), Errors, BodyErrors))]
pub async fn create(
    caller: Caller,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, Json<AccountReply>), ApiError> {
    caller
        .may(Resource::Account, Action::Create, Scope::Other)
        .await?;
    let state = caller.state();
    let input = body.parse(&state.config.auth.password)?;
    // Creating a privileged account grants a role as surely as `PUT .../role` does, so
    // it needs the same step-up; otherwise a stolen password-only admin session could
    // mint a second admin.
    let severity = if input.role == Role::User {
        Severity::Info
    } else {
        step_up::require(&caller.principal, state)?;
        Severity::Warning
    };
    let hash = state
        .passwords
        .hash(input.password.expose())
        .await
        .map_err(ApiError::internal)?;
    // The unique indexes are the guard (a taken name is a 409); the event commits
    // with the account, and the admin is confirmed by the writer in the same breath.
    let mut tx = state.db.begin().await?;
    caller.confirm(&mut tx).await?;
    let account = accounts::insert(
        &mut *tx,
        NewAccount {
            username: &input.username,
            email: &input.email,
            password_hash: &hash,
            role: input.role,
            first_name: input.first_name.as_ref(),
            last_name: input.last_name.as_ref(),
        },
    )
    .await?;
    caller
        .audit_in(
            &mut tx,
            EventType::AccountCreated,
            severity,
            json!({ "createdAccountId": account.id, "roleId": account.role_id }),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(AccountReply::from(account))))
}
