//! `PUT /api/accounts/{id}/role`: an admin with a recent one-time password changes
//! another account's role.
//!
//! The new role takes effect on the account's next request: the account's item in
//! DynamoDB names the role (`store::account_state`), and the identity layer refuses an
//! access token naming another one (401); the client refreshes and gets the new role.
//! Sessions are deliberately not revoked: a promotion should not sign anyone out.

use axum::{Json, extract::Path};
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::{Caller, SteppedUpAdmin},
    domain::{Role, ValidationErrors},
    http::extract::ApiJson,
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    response::Account,
    store::{
        accounts,
        audit::{EventType, Severity},
    },
};

use super::{admins, not_found};
use crate::request::ChangeRole;

/// The account as written. Changing one's own role is refused, so an admin can never
/// demote itself; demoting the last admin is a 409 (`admins::keep_one`).
#[utoipa::path(put, path = "/api/accounts/{id}/role", tag = "accounts", operation_id = "changeRole",
    summary = "Change an account's role (admin + step-up)",
    params(("id" = i64, Path, description = "The account's id")),
    request_body = ChangeRole,
    responses((status = 200, description = "The account with its role", body = Account), Errors, BodyErrors))]
pub async fn change(
    caller: Caller<SteppedUpAdmin>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<Json<Account>, ApiError> {
    caller
        .may(Resource::Account, Action::Update, Scope::Other)
        .await?;
    let role = body.parse()?;
    if id == caller.principal.0.account_id {
        return Err(ValidationErrors::one(
            "roleId",
            "you cannot change your own role",
        ));
    }

    let state = caller.state();
    let mut tx = state.db.begin().await?;
    let remaining = admins::lock_as_actor(&mut tx, caller.principal.0.account_id).await?;
    let current = accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    let account = if current.role_id == role.id() {
        current.clone()
    } else {
        if role != Role::Admin {
            admins::keep_one(&remaining, id)?;
        }
        let account = accounts::set_role(&mut *tx, id, role).await?;
        let severity = if role == Role::Admin {
            Severity::Critical
        } else {
            Severity::Warning
        };
        caller
            .audit_in(
                &mut tx,
                EventType::RoleChanged,
                severity,
                json!({ "targetAccountId": id, "from": current.role_id, "to": account.role_id }),
            )
            .await?;
        tx.commit().await?;
        account
    };
    // After the commit: a refresh reading the new role must not be refused. Also when
    // nothing changed, so repeating a request whose recording failed completes it.
    if let Err(error) = state.account_states.record_role(id, role.id()).await {
        tracing::error!(error = %error, account_id = id, "the role changed, but older tokens keep the old one until they expire");
        return Err(error.into());
    }
    Ok(Json(account.into()))
}
