//! `PUT /api/accounts/{id}/role`: an admin with a recent one-time password changes
//! another account's role.
//!
//! The new role reaches the account's tokens at their next refresh (the refresh reads
//! the account fresh), so within one access-token lifetime (15 minutes by default).
//! Sessions are deliberately not revoked: a promotion should not sign anyone out, and
//! a demotion that must act at once is an account deletion or a session revocation.

use axum::{Json, extract::Path};
use serde_json::{Value, json};
use shared::{
    ApiError,
    auth::roles::SteppedUpAdmin,
    domain::{Role, ValidationErrors},
    http::extract::ApiJson,
    permissions::{Action, Caller, Resource, Scope},
    store::{accounts, audit::Severity},
};

use super::not_found;
use crate::request::ChangeRole;

/// The account as written. Changing one's own role is refused: the last admin could
/// otherwise demote themselves and leave nobody to undo it.
pub async fn change(
    caller: Caller<SteppedUpAdmin>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<Json<Value>, ApiError> {
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

    let mut tx = caller.state().db.begin().await?;
    let current = accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    if current.role_id == role.id() {
        return Ok(Json(current.to_json()));
    }
    let account = accounts::set_role(&mut *tx, id, role).await?;
    tx.commit().await?;

    let severity = if role == Role::Admin {
        Severity::Critical
    } else {
        Severity::Warning
    };
    caller
        .audit(
            "ROLE_CHANGED",
            severity,
            json!({ "targetAccountId": id, "from": current.role_id, "to": account.role_id }),
        )
        .await;
    Ok(Json(account.to_json()))
}
