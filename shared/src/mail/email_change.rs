//! Changing an account's address needs proof of the new one: the change is recorded
//! as pending (an `email_change` token for the new address), a link goes to the new
//! address and a notice to the old one, and the account's email changes only when the
//! link is used (`POST /api/auth/email/verify`). Whatever authorizes the request
//! (the account itself after re-authentication, or an admin) comes first, in the
//! accounts function.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    Job, Mail, Outbox,
    tokens::{self, Purpose},
};
use crate::{
    AppState,
    domain::Email,
    error::ApiError,
    http::context::RequestContext,
    store::{
        StoreError,
        accounts::{self, Account},
        audit::{self, AuditEvent, EventType, Severity},
    },
};

/// In the request's transaction: records the pending change of `account`'s address to
/// `new_email` and writes its two mails to `outbox`. Answers whether a change is now
/// pending (false when `new_email` already is the account's address). An address any
/// account has (deleted ones included) is a 409, as before changes needed proof.
pub async fn request(
    tx: &mut PgConnection,
    state: &AppState,
    context: &RequestContext,
    actor_id: i64,
    account: &Account,
    new_email: &Email,
    outbox: &mut Outbox,
) -> Result<bool, ApiError> {
    if new_email.as_str() == account.email {
        return Ok(false);
    }
    if accounts::email_taken(&mut *tx, new_email).await? {
        return Err(StoreError::Conflict("email").into());
    }
    let keys = state.secrets.app_keys().await?;
    let ttl = state.config.mail.email_link_ttl;
    let token = tokens::issue(
        tx,
        &keys.email_tokens,
        Purpose::EmailChange,
        account.id,
        new_email,
        ttl,
    )
    .await?;
    let link = Job::with_link(
        &keys.mail_seal,
        new_email,
        &account.username,
        &token,
        |token| Mail::EmailChange {
            token,
            valid_hours: ttl.as_secs().div_ceil(3600),
        },
    )?;
    outbox.add(tx, &link).await?;
    // The old address hears of it now, while it can still act (change the password,
    // which ends every session, before the link is used).
    if let Ok(old) = Email::parse(&account.email) {
        let notice = Mail::EmailChangeNotice {
            new_email: new_email.masked(),
        };
        outbox
            .add(tx, &Job::new(&old, &account.username, notice))
            .await?;
    }
    audit::insert(
        tx,
        context,
        AuditEvent::new(
            EventType::EmailChangeRequested,
            Severity::Warning,
            Some(actor_id),
        )
        .details(json!({
            "targetAccountId": account.id,
            "newEmail": new_email.masked(),
        })),
    )
    .await?;
    Ok(true)
}
