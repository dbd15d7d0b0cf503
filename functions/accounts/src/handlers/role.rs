//! `PUT /api/accounts/{id}/role`: an admin with a recent one-time password changes
//! another account's role.
//!
//! The new role reaches the account's tokens at their next refresh (the refresh reads
//! the account fresh), so within one access-token lifetime (15 minutes by default).
//! Sessions are deliberately not revoked: a promotion should not sign anyone out, and
//! a demotion that must act at once is an account deletion or a session revocation.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::roles::SteppedUpAdmin,
    domain::{Role, ValidationErrors},
    http::{context::RequestContext, extract::ApiJson},
    permissions::{self, Action, Resource, Scope},
    store::{
        accounts,
        audit::{self, AuditEvent, Severity},
    },
};

use super::not_found;
use crate::request::ChangeRole;

/// The account as written. Changing one's own role is refused: the last admin could
/// otherwise demote themselves and leave nobody to undo it.
pub async fn change(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<Json<Value>, ApiError> {
    permissions::authorize(
        &state,
        &context,
        Some(&admin),
        Resource::Account,
        Action::Update,
        Scope::Other,
    )
    .await?;
    let role = body.parse()?;
    if id == admin.account_id {
        return Err(ValidationErrors::one(
            "roleId",
            "you cannot change your own role",
        ));
    }

    let mut tx = state.db.writer().begin().await?;
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
    audit::record(
        state.db.writer(),
        &context,
        AuditEvent::new("ROLE_CHANGED", severity, Some(admin.account_id)).details(json!({
            "targetAccountId": id,
            "from": current.role_id,
            "to": account.role_id,
        })),
    )
    .await;
    Ok(Json(account.to_json()))
}
