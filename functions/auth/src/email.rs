//! `POST /api/auth/email/verify` and `POST /api/auth/email/verify/resend`, and the
//! verification mail signup sends.
//!
//! Verify takes the token of either link that proves an address: the verification
//! link (the account's address is verified from now on; the first time, a welcome mail
//! follows) or an email-change link (the new address becomes the account's email,
//! verified). Either way the token is spent, the change audited and any mail written
//! to the outbox in one transaction. The new `email_verified` claim comes with the
//! next refresh or sign-in.

use std::sync::Arc;

use axum::{Extension, Json, extract::State};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::openapi::{BodyErrors, Errors};
use shared::{
    ApiError, AppState,
    auth::Principal,
    domain::Email,
    http::{context::RequestContext, extract::ApiJson},
    mail::{
        Job, LinkToken, Mail, Outbox, Purpose,
        tokens::{self, invalid_link},
    },
    store::{
        accounts::{self, Account},
        audit::{self, AuditEvent, EventType, Severity},
    },
};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::response::EmailVerified;

/// In the caller's transaction: a verification link for the account's address (older
/// ones stop working), its mail written to `outbox`.
pub(crate) async fn send_verification(
    tx: &mut PgConnection,
    state: &AppState,
    account: &Account,
    outbox: &mut Outbox,
) -> Result<(), ApiError> {
    let email = Email::parse(&account.email)
        .map_err(|e| ApiError::internal(format!("stored address does not parse: {e}")))?;
    let keys = state.secrets.app_keys().await?;
    let ttl = state.config.mail.email_link_ttl;
    let token = tokens::issue(
        tx,
        &keys.email_tokens,
        Purpose::EmailVerification,
        account.id,
        &email,
        ttl,
    )
    .await?;
    let job = Job::with_link(
        &keys.mail_seal,
        &email,
        &account.username,
        &token,
        |token| Mail::EmailVerification {
            token,
            valid_hours: ttl.as_secs().div_ceil(3600),
        },
    )?;
    outbox.add(tx, &job).await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EmailVerifyRequest)]
pub struct VerifyRequest {
    /// The `#verify=` value of the mailed link.
    token: String,
}

#[utoipa::path(post, path = "/api/auth/email/verify", tag = "auth", operation_id = "verifyEmail",
    summary = "Prove an address with the token of a verification or email-change link",
    description = "A verification link (signup, or `/email/verify/resend`) marks the account's address verified; the first time, a welcome mail follows. An email-change link (`PATCH /api/accounts/{id}` with `email`) makes the new address the account's email, verified (409 if another account took it meanwhile). The token is used once; an invalid one is the same 400 as for a reset. Access tokens carry `email_verified` from the next refresh or sign-in.",
    security(()),
    request_body = VerifyRequest,
    responses((status = 200, description = "The address is verified (and, for a change, the account's)", body = EmailVerified), Errors, BodyErrors))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<EmailVerified>, ApiError> {
    let token = LinkToken::parse(&body.token)?;
    let keys = state.secrets.app_keys().await?;
    let mut tx = state.db.begin().await?;
    let redeemed = tokens::redeem(
        &mut tx,
        &keys.email_tokens,
        &token,
        &[Purpose::EmailVerification, Purpose::EmailChange],
    )
    .await?
    .ok_or_else(invalid_link)?;
    let account = accounts::lock(&mut *tx, redeemed.account_id)
        .await?
        .ok_or_else(invalid_link)?;
    let mut outbox = Outbox::default();
    let (account, changed) = match redeemed.purpose {
        Purpose::EmailVerification if account.email == redeemed.email.as_str() => {
            if account.email_verified() {
                (account, false)
            } else {
                let verified =
                    accounts::set_verified_email(&mut *tx, account.id, &redeemed.email).await?;
                audit::insert(
                    &mut tx,
                    &context,
                    AuditEvent::new(EventType::EmailVerified, Severity::Info, Some(account.id)),
                )
                .await?;
                let welcome = Job::new(&redeemed.email, &account.username, Mail::Welcome);
                outbox.add(&mut tx, &welcome).await?;
                (verified, false)
            }
        }
        Purpose::EmailChange => {
            let changed =
                accounts::set_verified_email(&mut *tx, account.id, &redeemed.email).await?;
            tokens::retire(&mut tx, account.id, Purpose::EmailChange).await?;
            let old = Email::parse(&account.email).map_or_else(|_| "***".into(), |e| e.masked());
            audit::insert(
                &mut tx,
                &context,
                AuditEvent::new(EventType::EmailChanged, Severity::Warning, Some(account.id))
                    .details(json!({ "oldEmail": old, "newEmail": redeemed.email.masked() })),
            )
            .await?;
            (changed, true)
        }
        // A verification link for an address the account no longer has.
        _ => return Err(invalid_link()),
    };
    tx.commit().await?;
    state.mail.relay(&state.db, outbox).await;
    tracing::info!(
        accountId = account.id,
        email = %redeemed.email.masked(),
        changed,
        "email address verified"
    );
    Ok(Json(EmailVerified {
        email: account.email,
        email_verified: true,
        changed,
    }))
}

/// A new verification link for the caller's address (202), unless it is verified
/// already (409).
#[utoipa::path(post, path = "/api/auth/email/verify/resend", tag = "auth", operation_id = "resendVerification",
    summary = "Mail a new verification link to the caller's address (the older ones stop working)",
    responses((status = 202, description = "A new link is on its way"), Errors, BodyErrors))]
pub async fn resend(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.db.begin().await?;
    let account = accounts::lock(&mut *tx, principal.account_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("The account no longer exists".into()))?;
    if account.email_verified() {
        return Err(ApiError::Conflict {
            message: "The email address is already verified".into(),
            details: None,
        });
    }
    let mut outbox = Outbox::default();
    send_verification(&mut tx, &state, &account, &mut outbox).await?;
    tx.commit().await?;
    state.mail.relay(&state.db, outbox).await;
    Ok(StatusCode::ACCEPTED)
}
