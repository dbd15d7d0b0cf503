//! `PATCH /api/accounts/{id}`: names and email, by the account itself or an admin.

use axum::{Json, extract::Path};
use serde_json::json;
use shared::{
    ApiError,
    auth::caller::Caller,
    auth::reauth::Reauth,
    mail::{Outbox, email_change},
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
    response,
    store::{
        accounts::{self, DetailsChange},
        audit::{EventType, Severity},
    },
};

use super::not_found;
use crate::request::UpdateAccount;

/// The account as written. A new email is pending (`pendingEmail`) until the link
/// mailed to it is used; a taken one is a 409. An email change needs re-authentication
/// (`currentPassword` or `currentCode` in the body, or step-up).
#[utoipa::path(patch, path = "/api/accounts/{id}", tag = "accounts", operation_id = "updateAccount",
    summary = "Change names (at once) or email (once the link mailed to it is used); own, or admin; null removes a name",
    description = "A new `email` does not take effect here: a link goes to the new address and a notice to the old one, and the answer's `pendingEmail` names the address waiting for its link (`POST /api/auth/email/verify`). An address another account has is a 409. Changing `email` needs re-authentication of the caller: `currentPassword` (2FA off) or `currentCode` (2FA on), or a step-up session; otherwise 403 `REAUTHENTICATION_REQUIRED`. Names need none.",
    params(("id" = i64, Path, description = "The account's id")),
    request_body = inline(Reauth<UpdateAccount>),
    responses((status = 200, description = "The account after the change", body = response::Account), Errors, BodyErrors))]
pub async fn update(
    caller: Caller,
    Path(id): Path<i64>,
    Reauth { body, proof }: Reauth<UpdateAccount>,
) -> Result<Json<response::Account>, ApiError> {
    // An account owns itself, so the scope comes from the path: a caller who may not
    // edit others is refused before learning whether the id exists.
    caller.may_on(Resource::Account, Action::Update, id).await?;
    let change = body.parse()?;
    // The login email is a credential: changing it needs the current password (or a
    // code, or step-up), whoever's account it is, so a stolen token cannot take it.
    if change.email.is_some() {
        caller.reauthenticate(&proof, "email-change").await?;
    }
    let mut tx = caller.state().db.begin().await?;
    if caller.scope_of(id) == Scope::Other {
        caller.confirm(&mut tx).await?;
    }
    accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    let account = accounts::update_details(
        &mut *tx,
        id,
        &DetailsChange {
            first_name: change.first_name.as_ref().map(Option::as_ref),
            last_name: change.last_name.as_ref().map(Option::as_ref),
            // A new address waits for proof: a link to it, a notice to the old one.
            email: None,
        },
    )
    .await?;
    let state = caller.state();
    let mut outbox = Outbox::default();
    let pending = match &change.email {
        Some(email) => email_change::request(
            &mut tx,
            state,
            caller.context(),
            caller.principal.account_id,
            &account,
            email,
            &mut outbox,
        )
        .await?
        .then_some(email),
        None => None,
    };
    let fields: Vec<_> = change
        .fields()
        .into_iter()
        .filter(|f| *f != "email")
        .collect();
    if !fields.is_empty() {
        caller
            .audit_in(
                &mut tx,
                EventType::AccountUpdated,
                Severity::Info,
                json!({ "targetAccountId": id, "fields": fields }),
            )
            .await?;
    }
    tx.commit().await?;
    state.mail.relay(&state.db, outbox).await;
    Ok(Json(response::Account {
        pending_email: pending.map(|email| email.as_str().to_owned()),
        ..account.into()
    }))
}
