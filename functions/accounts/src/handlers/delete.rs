//! `DELETE /api/accounts/{id}`: soft, cascading to the account's profiles, posts and
//! comments in one transaction, with every session of the account revoked.

use axum::extract::Path;
use http::StatusCode;
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::Caller,
    auth::{
        reauth::{NoFields, Reauth},
        step_up, unix_now,
    },
    domain::Role,
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    store::{
        accounts,
        audit::{EventType, Severity},
    },
};

use super::{admins, not_found};
use crate::store;

/// Answers 204. The account itself, or an admin with a recent one-time password:
/// removing someone else's account, or an admin account (one's own included), cannot
/// be undone from the API. The last admin cannot be deleted (409). A user deleting its
/// own account re-authenticates (`currentPassword` or `currentCode` in the body, or
/// step-up).
#[utoipa::path(delete, path = "/api/accounts/{id}", tag = "accounts", operation_id = "deleteAccount",
    summary = "Delete an account (own, with re-authentication; another's, admin + step-up)",
    description = "Deleting one's own account needs re-authentication in the (optional) body: `currentPassword` (2FA off) or `currentCode` (2FA on), or a step-up session; otherwise 403 `REAUTHENTICATION_REQUIRED`.",
    params(("id" = i64, Path, description = "The account's id")),
    request_body(content = inline(Reauth<NoFields>), description = "The re-authentication proof; an empty body is taken as `{}`"),
    responses((status = 204, description = "Deleted"), Errors, BodyErrors))]
pub async fn delete(
    caller: Caller,
    Path(id): Path<i64>,
    Reauth { proof, .. }: Reauth<NoFields>,
) -> Result<StatusCode, ApiError> {
    let scope = caller.scope_of(id);
    caller.may(Resource::Account, Action::Delete, scope).await?;
    let state = caller.state();
    let actor_is_admin = Role::from_id(caller.principal.role_id) == Some(Role::Admin);
    if scope != Scope::Own || actor_is_admin {
        step_up::require(&caller.principal, state)?;
    } else {
        caller.reauthenticate(&proof, "account-delete").await?;
    }

    let mut tx = state.db.begin().await?;
    // Admins first, in id order, as role changes do. Only an admin can delete an
    // admin (a user deletes only itself), so only then is there one to keep.
    let remaining = if actor_is_admin {
        admins::lock_as_actor(&mut tx, caller.principal.account_id).await?
    } else {
        Vec::new()
    };
    accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    admins::keep_one(&remaining, id)?;
    store::lock_profiles(&mut tx, id).await?;
    let cascade = store::soft_delete_cascade(&mut tx, id).await?;
    // Before the commit: should it fail, the sessions are gone but the account stays,
    // and its owner signs in again (the safe direction).
    let sessions = state.families.revoke_all(id, None, unix_now()).await?;
    caller
        .audit_in(
            &mut tx,
            EventType::AccountDeleted,
            Severity::Warning,
            json!({
                "targetAccountId": id,
                "profiles": cascade.profiles,
                "posts": cascade.posts,
                "comments": cascade.comments,
                "sessionsRevoked": sessions,
            }),
        )
        .await?;
    tx.commit().await?;

    // After the commit (the item must never say "deleted" of a live account): every
    // access token of the account stops on its next request. Should DynamoDB fail
    // here, the sessions are revoked already and a refresh refuses a deleted account.
    if let Err(error) = state.account_states.record_deleted(id).await {
        tracing::error!(error = %error, account_id = id, "the account is deleted; its access tokens end with their sessions' revocation");
    }
    Ok(StatusCode::NO_CONTENT)
}
