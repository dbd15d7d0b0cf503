//! Two-factor auth: `POST /api/auth/2fa/setup`, `/enable`, `/disable`, `/verify`.

use std::sync::Arc;

use axum::{Extension, Json, extract::State, response::Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::openapi::{BodyErrors, Errors};
use shared::{
    ApiError, AppState,
    auth::{
        Principal, mfa,
        reauth::{self, Reauth},
        second_factor::{self, Method, accept_code},
        step_up::SteppedUp,
        totp,
    },
    domain::{Role, ValidationErrors},
    http::{
        context::{RequestContext, RequestFacts},
        extract::ApiJson,
    },
    store::{
        accounts::{self, Account},
        audit::{self, AuditEvent, EventType, Severity},
        two_factor,
    },
};
use utoipa::ToSchema;

use crate::{
    outcome::Login as Outcome,
    response::{BackupCodes, SessionReply, TwoFactorSetup},
    tokens,
};

fn already_enabled() -> ApiError {
    ApiError::Conflict {
        message: "Two-factor auth is already enabled".into(),
        details: None,
    }
}

async fn account(state: &AppState, id: i64) -> Result<Account, ApiError> {
    accounts::find_by_id(&mut *state.db.writer().await?, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("The account no longer exists".into()))
}

async fn audit_failure(state: &AppState, context: &RequestContext, account_id: i64, stage: &str) {
    audit::record(
        &state.db,
        context,
        AuditEvent::new(
            EventType::TwoFactorFailed,
            Severity::Warning,
            Some(account_id),
        )
        .details(json!({ "stage": stage })),
    )
    .await;
}

#[utoipa::path(post, path = "/api/auth/2fa/setup", tag = "auth", operation_id = "twoFactorSetup",
    summary = "Start enrolling a TOTP authenticator (not enabled until /2fa/enable)",
    responses((status = 200, description = "The new secret", body = TwoFactorSetup), Errors, BodyErrors))]
pub async fn setup(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<TwoFactorSetup>, ApiError> {
    let account = account(&state, principal.account_id).await?;
    if account.two_factor_enabled {
        return Err(already_enabled());
    }
    let keys = state.secrets.app_keys().await?;
    let secret = totp::new_secret().map_err(ApiError::internal)?;
    let sealed = totp::seal(&keys.totp, account.id, &secret).map_err(ApiError::internal)?;
    if !two_factor::set_pending(&mut *state.db.writer().await?, account.id, &sealed).await? {
        return Err(already_enabled());
    }
    let enrolment = totp::enrolment(&secret, &account.username).map_err(ApiError::internal)?;
    Ok(Json(TwoFactorSetup {
        secret: enrolment.secret_base32,
        otpauth_url: enrolment.otpauth_url,
        qr_svg: enrolment.qr_svg,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableRequest {
    /// A current code of the secret from setup.
    code: String,
}

/// Needs the current password (`currentPassword`) beside the code: a stolen access
/// token alone must not turn on a second factor the owner does not hold.
#[utoipa::path(post, path = "/api/auth/2fa/enable", tag = "auth", operation_id = "twoFactorEnable",
    summary = "Confirm the enrolment with a code; answers the backup codes once",
    description = "Needs re-authentication: `currentPassword` (2FA is still off), or a step-up session; otherwise 403 `REAUTHENTICATION_REQUIRED`.",
    request_body = inline(Reauth<EnableRequest>),
    responses((status = 200, description = "2FA on; ten backup codes, shown once", body = BackupCodes), Errors, BodyErrors))]
pub async fn enable(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Reauth { body, proof }: Reauth<EnableRequest>,
) -> Result<Json<BackupCodes>, ApiError> {
    let account = account(&state, principal.account_id).await?;
    if account.two_factor_enabled {
        return Err(already_enabled());
    }
    reauth::require(&state, &context, &principal, &proof, "2fa-enable").await?;
    let keys = state.secrets.app_keys().await?;
    if accept_code(&state, &keys, account.id, &body.code, false).await? != Some(Method::Totp) {
        audit_failure(&state, &context, account.id, "enable").await;
        return Err(ValidationErrors::one(
            "code",
            "is not a current code for the secret from setup",
        ));
    }
    let codes = totp::new_backup_codes().map_err(ApiError::internal)?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| totp::backup_code_hash(&keys.backup_codes, c))
        .collect();
    let mut tx = state.db.begin().await?;
    two_factor::enable(&mut tx, account.id, &hashes).await?;
    tokens::revoke_others(
        &state,
        &mut tx,
        &context,
        &principal,
        EventType::TwoFactorEnabled,
        Severity::Info,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(BackupCodes {
        backup_codes: codes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    password: String,
    /// A TOTP code or a backup code.
    code: String,
}

#[utoipa::path(post, path = "/api/auth/2fa/disable", tag = "auth", operation_id = "twoFactorDisable",
    summary = "Turn 2FA off (step-up required); other sessions are revoked",
    request_body = DisableRequest,
    responses((status = 204, description = "2FA off"), Errors, BodyErrors))]
pub async fn disable(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUp(principal): SteppedUp,
    ApiJson(body): ApiJson<DisableRequest>,
) -> Result<StatusCode, ApiError> {
    let account = account(&state, principal.account_id).await?;
    let mut errors = ValidationErrors::default();
    // Both on the account's counters, as a login and a 2FA verify would be.
    if !reauth::password_matches(&state, account.id, &account.password_hash, &body.password).await?
    {
        errors.add("password", "is incorrect");
    }
    if second_factor::check(&state, &context, account.id, &body.code)
        .await?
        .is_none()
    {
        errors.add("code", "is incorrect");
    }
    if !errors.is_empty() {
        audit_failure(&state, &context, account.id, "disable").await;
        return Err(errors.into());
    }
    let mut tx = state.db.begin().await?;
    two_factor::disable(&mut tx, account.id).await?;
    // An admin without a second factor is the account an attacker wants: that alerts.
    let severity = if account.role_id == Role::Admin.id() {
        Severity::Critical
    } else {
        Severity::Warning
    };
    tokens::revoke_others(
        &state,
        &mut tx,
        &context,
        &principal,
        EventType::TwoFactorDisabled,
        severity,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = MfaVerifyRequest)]
pub struct VerifyRequest {
    mfa_token: String,
    /// A TOTP code or a backup code.
    code: String,
}

const INVALID_CHALLENGE: ApiError = ApiError::Authentication {
    message: "Invalid or expired MFA token, or wrong code",
    invalid_token: false,
};

/// The login's second step counts in `Logins` too: `mfa_success`, `mfa_failed` (a
/// bad, used or expired token, or a wrong code) or `error`.
#[utoipa::path(post, path = "/api/auth/2fa/verify", tag = "auth", operation_id = "twoFactorVerify",
    summary = "Answer the login's 2FA challenge",
    security(()),
    request_body = VerifyRequest,
    responses((status = 200, description = "A session as login, with `amr` pwd and otp", body = SessionReply, headers(("Set-Cookie" = String, description = "`__Secure-bh_refresh` (the refresh token) and `__Host-bh_csrf` (the CSRF token), two Set-Cookie headers"))), Errors, BodyErrors))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    Extension(facts): Extension<RequestFacts>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    let result = verify_code(&state, &context, body).await;
    let outcome = match &result {
        Ok((account_id, _)) => {
            facts.set_account_id(*account_id);
            Outcome::MfaSuccess
        }
        Err(ApiError::Authentication { .. }) => Outcome::MfaFailed,
        Err(ApiError::RateLimited { .. }) => Outcome::MfaBackoff,
        Err(_) => Outcome::Error,
    };
    outcome.count();
    result.map(|(_, response)| response)
}

async fn verify_code(
    state: &AppState,
    context: &RequestContext,
    body: VerifyRequest,
) -> Result<(i64, Response), ApiError> {
    let keys = state.secrets.app_keys().await?;
    let claims = mfa::verify(&keys.refresh, &body.mfa_token).map_err(|_| INVALID_CHALLENGE)?;
    let account_id = claims.account_id().ok_or(INVALID_CHALLENGE)?;
    let auth = &state.config.auth;
    // At most `MFA_MAX_ATTEMPTS` codes per token; then it is void.
    if !state
        .mfa
        .attempt(&claims.jti, auth.mfa_max_attempts, claims.exp)
        .await?
    {
        return Err(INVALID_CHALLENGE);
    }
    let account = account(state, account_id).await?;
    // Counted per account across MFA tokens: fresh tokens (a right password each)
    // buy no more guesses.
    let Some(method) = second_factor::check(state, context, account.id, &body.code).await? else {
        audit_failure(state, context, account.id, "verify").await;
        return Err(INVALID_CHALLENGE);
    };
    if !state.mfa.consume(&claims.jti).await? {
        return Err(INVALID_CHALLENGE);
    }
    if method == Method::BackupCode {
        audit::record(
            &state.db,
            context,
            AuditEvent::new(
                EventType::BackupCodeUsed,
                Severity::Warning,
                Some(account.id),
            ),
        )
        .await;
    }
    audit::record(
        &state.db,
        context,
        AuditEvent::new(EventType::LoginSuccess, Severity::Info, Some(account.id))
            .details(json!({ "amr": ["pwd", "otp"] })),
    )
    .await;
    let tokens = tokens::start(state, context, &account, vec!["pwd".into(), "otp".into()]).await?;
    Ok((account.id, tokens.respond(StatusCode::OK, Some(account))))
}
