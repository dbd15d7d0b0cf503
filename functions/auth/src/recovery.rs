//! `POST /api/auth/password/forgot` and `POST /api/auth/password/reset`.
//!
//! Forgot answers the same 202, with the same body and headers, no sooner than
//! `PASSWORD_FORGOT_RESPONSE_MS` after it started, whether or not the address has an
//! account: its answer and its timing say nothing about the address. For an account
//! the reset link (a one-time token, stored only as a keyed hash) is issued and its
//! mail job written in one transaction, then relayed to the mail queue.
//!
//! Reset spends the token, sets the password, ends every session of the account (the
//! identity layer then refuses every access token of those sessions on its next
//! request) and records PASSWORD_RESET, all in one transaction. A used, expired,
//! forged or retired token, or one whose account is gone or whose address changed
//! since, is the same 400.

use std::{sync::Arc, time::Instant};

use axum::{
    Extension, Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::openapi::{BodyErrors, Errors};
use shared::{
    ApiError, AppState,
    auth::unix_now,
    db::consistency,
    domain::{Email, NewPassword, ValidationErrors},
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
use utoipa::ToSchema;

use crate::{outcome::PasswordReset as Outcome, response::Accepted};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    email: String,
}

/// The one answer of forgot, whatever the address.
fn accepted() -> Response {
    let body = Accepted {
        message: "If an account uses this address, a link to reset its password is on its way",
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[utoipa::path(post, path = "/api/auth/password/forgot", tag = "auth", operation_id = "forgotPassword",
    summary = "Mail a password-reset link to the address, if an account has it",
    description = "Always the same 202, body and headers, no sooner than `PASSWORD_FORGOT_RESPONSE_MS` after the request started, whether or not an account has the address: the answer says nothing about it. For an account, a single-use link (`MAIL_LINK_BASE_URL#reset=<token>`, valid `PASSWORD_RESET_TTL_SECONDS`) goes to the address through the mail queue; a new link retires the older ones. Limited per client IP (`RATE_LIMIT_MAIL_*`) and per address (`RATE_LIMIT_MAIL_ADDRESS_*`, whether or not an account has it).",
    security(()),
    request_body = ForgotRequest,
    responses((status = 202, description = "Accepted (the same for every address)", body = Accepted), Errors, BodyErrors))]
pub async fn forgot(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let email =
        Email::parse(&body.email).map_err(|message| ValidationErrors::one("email", message))?;
    // A scope of its own: a known address writes, and the consistency token a write
    // earns (its header, its cookie, the writer's position in it) would tell the two
    // answers apart. Nothing here needs reading back.
    let (found, _) = consistency::scope(None, send_link(&state, &email)).await;
    // The lookup itself failing is the same for every address, so it may say so.
    found?.count();
    tokio::time::sleep_until((started + state.config.mail.forgot_response_time).into()).await;
    Ok(accepted())
}

/// Whether the address has an account (the link is then on its way). Once the account
/// is found nothing fails the request: an error would set the answer apart.
async fn send_link(state: &AppState, email: &Email) -> Result<Outcome, ApiError> {
    let account = {
        let mut writer = state.db.writer().await?;
        accounts::find_by_login(&mut *writer, email.as_str()).await?
    };
    // find_by_login also matches usernames; only the address counts here.
    let Some(account) = account.filter(|a| a.email == email.as_str()) else {
        tracing::info!(email = %email.masked(), "password reset asked for an address with no account");
        return Ok(Outcome::Unknown);
    };
    match issue(state, &account, email).await {
        Ok(outbox) => {
            state.mail.relay(&state.db, outbox).await;
            Ok(Outcome::Sent)
        }
        Err(error) => {
            tracing::error!(error = %error, accountId = account.id, "could not issue a password reset link");
            Ok(Outcome::Error)
        }
    }
}

async fn issue(state: &AppState, account: &Account, email: &Email) -> Result<Outbox, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let ttl = state.config.mail.password_reset_ttl;
    let mut tx = state.db.begin().await?;
    let token = tokens::issue(
        &mut tx,
        &keys.email_tokens,
        Purpose::PasswordReset,
        account.id,
        email,
        ttl,
    )
    .await?;
    let job = Job::with_link(&keys.mail_seal, email, &account.username, &token, |token| {
        Mail::PasswordReset {
            token,
            valid_minutes: ttl.as_secs().div_ceil(60),
        }
    })?;
    let mut outbox = Outbox::default();
    outbox.add(&mut tx, &job).await?;
    tx.commit().await?;
    tracing::info!(accountId = account.id, "password reset link issued");
    Ok(outbox)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    /// The `#reset=` value of the mailed link.
    token: String,
    new_password: String,
}

#[utoipa::path(post, path = "/api/auth/password/reset", tag = "auth", operation_id = "resetPassword",
    summary = "Set a new password with the token of a reset link; every session ends",
    description = "The token is used once. The new password meets the password policy (a refused one leaves the link working); every session of the account is revoked (each access token is refused on its next request) and `PASSWORD_RESET` audited, in one transaction. A used, expired, forged, retired or malformed token, or one of a deleted account, is the same 400 \"This link is invalid or has expired\".",
    security(()),
    request_body = ResetRequest,
    responses((status = 204, description = "The password is set; every session was revoked"), Errors, BodyErrors))]
pub async fn reset(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    let token = LinkToken::parse(&body.token)?;
    let keys = state.secrets.app_keys().await?;
    let key = &keys.email_tokens;
    // Looked up first, unspent: the new password is checked against the account (its
    // name and address are known inputs) and hashed before the link is used, so a
    // refused password leaves the link working.
    let account = {
        let mut writer = state.db.writer().await?;
        match tokens::peek(&mut writer, key, &token, &[Purpose::PasswordReset]).await? {
            Some(found) => accounts::find_by_id(&mut *writer, found.account_id)
                .await?
                .filter(|account| account.email == found.email.as_str()),
            None => None,
        }
    }
    .ok_or_else(invalid_link)?;
    let password = NewPassword::parse(
        &body.new_password,
        &state.config.auth.password,
        &[&account.username, &account.email],
    )
    .map_err(|message| ValidationErrors::one("newPassword", message))?;
    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(ApiError::internal)?;

    let mut tx = state.db.begin().await?;
    // The link is spent here, once: of concurrent resets with one token, one finds it
    // unused and the others get the generic 400.
    let redeemed = tokens::redeem(&mut tx, key, &token, &[Purpose::PasswordReset])
        .await?
        .filter(|redeemed| redeemed.account_id == account.id)
        .ok_or_else(invalid_link)?;
    let locked = accounts::lock(&mut *tx, account.id)
        .await?
        .filter(|locked| locked.email == redeemed.email.as_str())
        .ok_or_else(invalid_link)?;
    accounts::set_password_hash(&mut *tx, locked.id, &hash, true).await?;
    // The link reached the address: it is proven.
    if !locked.email_verified() {
        accounts::set_verified_email(&mut *tx, locked.id, &redeemed.email).await?;
    }
    tokens::retire(&mut tx, locked.id, Purpose::PasswordReset).await?;
    // Before the commit, as a password change does: should the commit fail, the
    // sessions ended for nothing (the safe direction).
    let revoked = state
        .families
        .revoke_all(locked.id, None, unix_now())
        .await?;
    audit::insert(
        &mut tx,
        &context,
        AuditEvent::new(EventType::PasswordReset, Severity::Warning, Some(locked.id))
            .details(json!({ "sessionsRevoked": revoked })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        accountId = locked.id,
        sessionsRevoked = revoked,
        "password reset"
    );
    Ok(StatusCode::NO_CONTENT)
}
