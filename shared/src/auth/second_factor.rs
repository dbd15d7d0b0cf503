//! Checking a second-factor code (a TOTP code, or where allowed a backup code) for an
//! account, counted per account across MFA tokens and routes: `MFA_ACCOUNT_MAX_FAILURES`
//! failures (forgotten `MFA_ACCOUNT_WINDOW_SECONDS` after the last one), then each
//! attempt waits `MFA_ACCOUNT_BACKOFF_BASE_SECONDS × 2^(n - max)` (at most
//! `MFA_ACCOUNT_BACKOFF_MAX_SECONDS`) with 429 `tier: "mfa-backoff"`. The failure that
//! reaches the limit writes a critical BRUTE_FORCE_DETECTED event. The owner's
//! sessions are left alone: whoever guesses codes holds the password, not a session.

use serde_json::json;

use super::{totp, unix_now, unix_now_ms};
use crate::{
    AppState,
    error::ApiError,
    http::context::RequestContext,
    metrics,
    secrets::AppKeys,
    store::{
        audit::{self, AuditEvent, EventType, Severity},
        brute_force::{BackoffKey, Reservation},
        two_factor,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    BackupCode,
}

/// A TOTP code (each time step once) or, where allowed, an unused backup code.
/// Uncounted: callers that check a code an attacker could guess use [`check`].
pub async fn accept_code(
    state: &AppState,
    keys: &AppKeys,
    account_id: i64,
    code: &str,
    backup_allowed: bool,
) -> Result<Option<Method>, ApiError> {
    let Some((sealed, _)) = two_factor::secret(&mut *state.db.writer().await?, account_id).await?
    else {
        return Ok(None);
    };
    let secret = totp::open(&keys.totp, account_id, &sealed).map_err(ApiError::internal)?;
    let now = u64::try_from(unix_now()).unwrap_or(0);
    if let Some(step) = totp::matching_step(&secret, code, now, state.config.auth.totp_skew_steps) {
        // A code already accepted for its step is refused (RFC 6238 §5.2).
        let fresh =
            two_factor::accept_step(&mut *state.db.writer().await?, account_id, step).await?;
        return Ok(fresh.then_some(Method::Totp));
    }
    if backup_allowed {
        let hash = totp::backup_code_hash(&keys.backup_codes, code);
        if two_factor::use_backup_code(&mut *state.db.writer().await?, account_id, &hash).await? {
            return Ok(Some(Method::BackupCode));
        }
    }
    Ok(None)
}

/// [`accept_code`] (backup codes allowed) on the account's counter: the attempt is
/// reserved before the code is checked, a right code clears the count, and a backing
/// off account gets 429 without its code being looked at.
pub async fn check(
    state: &AppState,
    context: &RequestContext,
    account_id: i64,
    code: &str,
) -> Result<Option<Method>, ApiError> {
    let counter = BackoffKey::SecondFactor(account_id);
    let policy = &state.limiter.config.second_factor_backoff;
    let attempt = match state
        .brute_force
        .reserve(&counter, policy, unix_now_ms())
        .await?
    {
        Reservation::Granted { attempt } => attempt,
        Reservation::Wait { seconds } => {
            return Err(ApiError::RateLimited {
                tier: "mfa-backoff",
                retry_after_seconds: seconds,
            });
        }
    };
    let keys = state.secrets.app_keys().await?;
    let method = accept_code(state, &keys, account_id, code, true).await?;
    if method.is_some() {
        if let Err(error) = state.brute_force.clear(&counter).await {
            tracing::warn!(error = %error, "could not reset failed second-factor codes");
        }
    } else if attempt == policy.free {
        metrics::count("BruteForceDetected", &[("Factor", "otp")]);
        audit::record(
            &state.db,
            context,
            AuditEvent::new(
                EventType::BruteForceDetected,
                Severity::Critical,
                Some(account_id),
            )
            .details(json!({
                "factor": "otp",
                "failures": attempt,
                "windowSeconds": policy.forget_after.as_secs(),
                "backoffSeconds": policy.wait_after(attempt).map(|w| w.as_secs()),
            })),
        )
        .await;
    }
    Ok(method)
}
