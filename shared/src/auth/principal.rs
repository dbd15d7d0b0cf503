//! The authenticated caller: the extractor every function uses for Bearer tokens.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::{header, request::Parts};

use super::access::{self, AccessClaims, TokenError};
use crate::{AppState, error::ApiError};

#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub username: String,
    pub role_id: i16,
    /// Authentication methods: `["pwd"]` or `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// The refresh-token family (session) the token was issued for.
    pub session_id: String,
    pub issued_at: i64,
    /// When the session was authenticated (password, and OTP if `amr` says so).
    pub auth_time: i64,
}

impl From<AccessClaims> for Principal {
    fn from(claims: AccessClaims) -> Self {
        Self {
            account_id: claims.account_id,
            username: claims.username,
            role_id: claims.role_id,
            amr: claims.amr,
            session_id: claims.sid,
            issued_at: claims.iat,
            auth_time: claims.auth_time,
        }
    }
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Verifies the request's Bearer token (RS256, one of our kids, after at most one
/// rate-limited refetch of the key set for an unknown kid).
pub async fn authenticate(
    state: &AppState,
    headers: &http::HeaderMap,
) -> Result<Principal, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::AUTHENTICATION_REQUIRED)?;
    let auth = &state.config.auth;
    let keys = state.secrets.signing_keys().await?;
    let verified = match access::verify(&keys, token, auth.leeway) {
        Err(TokenError::UnknownKid) => {
            let keys = state
                .secrets
                .refetch_signing_keys(auth.key_refetch_interval)
                .await?;
            access::verify(&keys, token, auth.leeway)
        }
        other => other,
    };
    verified.map(Principal::from).map_err(|error| {
        tracing::info!(error = %error, "access token refused");
        ApiError::INVALID_TOKEN
    })
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        // The rate-limit layer verifies the token first and leaves the result here.
        let principal = match parts.extensions.get::<Principal>() {
            Some(principal) => principal.clone(),
            None => authenticate(state, &parts.headers).await?,
        };
        crate::http::context::identify(&parts.extensions, principal.account_id);
        Ok(principal)
    }
}

/// `Option<Principal>` for routes anonymous callers may use too: no Authorization
/// header is `None`; a header with a bad token is still a 401, never silently anonymous.
impl axum::extract::OptionalFromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Option<Self>, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Self as FromRequestParts<Arc<AppState>>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
