//! `POST /api/auth/login`

use std::sync::Arc;

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
    auth::{mfa, unix_now, unix_now_ms},
    http::{
        context::{RequestContext, RequestFacts},
        extract::ApiJson,
    },
    store::{
        accounts,
        audit::{self, AuditEvent, EventType, Severity},
        brute_force::{BackoffKey, Reservation},
    },
};
use utoipa::ToSchema;

use crate::{
    outcome::Login as Outcome,
    response::{LoginReply, MfaChallenge},
    tokens,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email.
    login: String,
    password: String,
}

/// Every login counts once in `Logins` by outcome: `success`, `mfa_required`,
/// `invalid_credentials`, `backoff` (the per-name wait) or `error` (a dependency
/// failed). The 2FA step counts its own outcomes (`two_factor::verify`).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", operation_id = "login",
    summary = "Sign in with a username or email and a password",
    security(()),
    request_body = LoginRequest,
    responses((status = 200, description = "A session (as signup), or with 2FA on a challenge for `/api/auth/2fa/verify`", body = LoginReply, headers(("Set-Cookie" = String, description = "`__Secure-bh_refresh` (the refresh token) and `__Host-bh_csrf` (the CSRF token), two Set-Cookie headers"))), Errors, BodyErrors))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    Extension(facts): Extension<RequestFacts>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let result = attempt(&state, &context, &facts, body).await;
    let outcome = match &result {
        Ok((outcome, _)) => *outcome,
        Err(ApiError::RateLimited { .. }) => Outcome::Backoff,
        // The one authentication error a login answers is INVALID_CREDENTIALS.
        Err(ApiError::Authentication { .. }) => Outcome::InvalidCredentials,
        Err(_) => Outcome::Error,
    };
    outcome.count();
    result.map(|(_, response)| response)
}

async fn attempt(
    state: &AppState,
    context: &RequestContext,
    facts: &RequestFacts,
    body: LoginRequest,
) -> Result<(Outcome, Response), ApiError> {
    // Per account, by whichever name (or per unknown name): after repeated failures
    // attempts wait (2^(n-5) s). The attempt is counted before the password is
    // checked, atomically, so concurrent attempts cannot all slip in before the first
    // failure is written; a success clears the count. The answer is the same whether
    // the account exists.
    // The writer: a login right after signup or a password change must see it.
    let account = {
        let mut writer = state.db.writer().await?;
        accounts::find_by_login(&mut *writer, &body.login).await?
    };
    let counter = match &account {
        Some(account) => BackoffKey::LoginAccount(account.id),
        None => BackoffKey::LoginName(BackoffKey::normalized_name(&body.login)),
    };
    let policy = &state.limiter.config.login_backoff;
    if let Reservation::Wait { seconds } = state
        .brute_force
        .reserve(&counter, policy, unix_now_ms())
        .await?
    {
        return Err(ApiError::RateLimited {
            tier: "login-backoff",
            retry_after_seconds: seconds,
        });
    }
    // An unknown account is verified against a dummy hash: same work, same answer.
    let hash = account.as_ref().map(|a| a.password_hash.as_str());
    let verified = state.passwords.verify(&body.password, hash).await;
    let Some(account) = account.filter(|_| verified) else {
        let login: String = body.login.chars().take(100).collect();
        audit::record(
            &state.db,
            context,
            AuditEvent::new(EventType::FailedLoginAttempt, Severity::Warning, None)
                .details(json!({ "login": login })),
        )
        .await;
        return Err(ApiError::INVALID_CREDENTIALS);
    };

    if let Err(error) = state.brute_force.clear(&counter).await {
        tracing::warn!(error = %error, "could not reset failed logins");
    }
    if state.passwords.needs_rehash(&account.password_hash) {
        rehash(state, account.id, &body.password).await;
    }
    if account.two_factor_enabled {
        // The password was right; tokens come from POST /api/auth/2fa/verify.
        let keys = state.secrets.app_keys().await?;
        let auth = &state.config.auth;
        let mfa_token = mfa::issue(&keys.refresh, account.id, auth.mfa_token_ttl, unix_now())
            .map_err(ApiError::internal)?;
        let reply = Json(MfaChallenge {
            mfa_required: true,
            mfa_token,
        });
        return Ok((Outcome::MfaRequired, reply.into_response()));
    }
    // Audited once the session exists: a login that then fails (DynamoDB down) did
    // not succeed.
    let tokens = tokens::start(state, context, &account, vec!["pwd".into()]).await?;
    audit::record(
        &state.db,
        context,
        AuditEvent::new(EventType::LoginSuccess, Severity::Info, Some(account.id)),
    )
    .await;
    facts.set_account_id(account.id);
    Ok((
        Outcome::Success,
        tokens.respond(StatusCode::OK, Some(account)),
    ))
}

/// Upgrades a hash made with older parameters; a failure only delays the upgrade.
async fn rehash(state: &AppState, account_id: i64, password: &str) {
    let result: Result<(), String> = async {
        let hash = state
            .passwords
            .hash(password)
            .await
            .map_err(|e| e.to_string())?;
        let mut writer = state.db.writer().await.map_err(|e| e.to_string())?;
        accounts::set_password_hash(&mut *writer, account_id, &hash, false)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(()) => tracing::info!(account_id, "password rehashed with the current parameters"),
        Err(error) => tracing::warn!(account_id, error = %error, "password rehash failed"),
    }
}
