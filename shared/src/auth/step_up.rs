//! Step-up: the extractor for sensitive operations. The caller must have signed in
//! with a one-time password (`otp` in `amr`) within `STEP_UP_MAX_AGE_SECONDS`; an
//! admin without 2FA can never satisfy it. Otherwise 403 STEP_UP_REQUIRED.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::{Principal, unix_now};
use crate::{AppState, error::ApiError};

#[derive(Debug, Clone)]
pub struct SteppedUp(pub Principal);

/// The rule itself, separate from HTTP so it is tested directly.
pub fn satisfied(principal: &Principal, now: i64, max_age_seconds: u64) -> bool {
    let fresh = u64::try_from(now - principal.auth_time).is_ok_and(|age| age <= max_age_seconds);
    principal.amr.iter().any(|method| method == "otp") && fresh
}

/// Passes when the principal satisfies step-up now.
pub fn require(principal: &Principal, state: &AppState) -> Result<(), ApiError> {
    if satisfied(
        principal,
        unix_now(),
        state.config.auth.step_up_max_age.as_secs(),
    ) {
        Ok(())
    } else {
        Err(ApiError::StepUpRequired)
    }
}

impl FromRequestParts<Arc<AppState>> for SteppedUp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        require(&principal, state)?;
        Ok(Self(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(amr: &[&str], auth_time: i64) -> Principal {
        Principal {
            account_id: 1,
            username: "a".into(),
            role_id: 2,
            amr: amr.iter().map(|m| m.to_string()).collect(),
            session_id: "s".into(),
            issued_at: auth_time,
            auth_time,
            email_verified: false,
        }
    }

    #[test]
    fn needs_a_recent_one_time_password() {
        assert!(satisfied(
            &principal(&["pwd", "otp"], 1_000),
            1_000 + 900,
            900
        ));
        assert!(
            !satisfied(&principal(&["pwd", "otp"], 1_000), 1_000 + 901, 900),
            "too old"
        );
        assert!(
            !satisfied(&principal(&["pwd"], 1_000), 1_000, 900),
            "password only"
        );
    }
}
