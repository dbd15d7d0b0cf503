//! `DELETE /api/accounts/{id}`: soft, cascading to the account's profiles, posts and
//! comments in one transaction, then every session of the account is revoked.

use axum::extract::Path;
use http::StatusCode;
use serde_json::json;
use shared::{
    ApiError,
    auth::{step_up, unix_now},
    permissions::{Action, Caller, Resource, Scope},
    store::{accounts, audit::Severity},
};

use super::not_found;
use crate::store;

/// Answers 204. The account itself, or an admin with a recent one-time password: removing
/// someone else's account cannot be undone from the API.
pub async fn delete(caller: Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    let scope = caller.scope_of(id);
    caller.may(Resource::Account, Action::Delete, scope).await?;
    let state = caller.state();
    if scope != Scope::Own {
        step_up::require(&caller.principal, state)?;
    }

    let mut tx = state.db.begin().await?;
    accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    store::lock_profiles(&mut tx, id).await?;
    let cascade = store::soft_delete_cascade(&mut tx, id).await?;
    tx.commit().await?;

    // After the commit, so a failed revocation cannot undo the deletion. The account
    // item stops every access token of the account on its next request; the sessions
    // are revoked too. Should DynamoDB fail here, a refresh still re-reads the account
    // and refuses a deleted one, and access tokens expire within their lifetime.
    if let Err(error) = state.account_states.record_deleted(id).await {
        tracing::error!(error = %error, account_id = id, "the account is deleted, but its access tokens live until they expire");
    }
    let sessions = match state.families.revoke_all(id, None, unix_now()).await {
        Ok(revoked) => Some(revoked),
        Err(error) => {
            tracing::error!(error = %error, account_id = id, "revoking the deleted account's sessions failed");
            None
        }
    };
    caller
        .audit(
            "ACCOUNT_DELETED",
            Severity::Warning,
            json!({
                "targetAccountId": id,
                "profiles": cascade.profiles,
                "posts": cascade.posts,
                "comments": cascade.comments,
                "sessionsRevoked": sessions,
            }),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
