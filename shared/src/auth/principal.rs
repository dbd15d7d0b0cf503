//! The authenticated caller: the extractor every function uses for Bearer tokens. The
//! token was verified, and checked against revocation, once, by the identity layer
//! (`auth::identity`); the extractors only read what it found.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::{header, request::Parts};

use super::{access::AccessClaims, identity::Identity};
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
    /// The token's `email_verified` claim (as of its issue).
    pub email_verified: bool,
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
            email_verified: claims.email_verified,
        }
    }
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What the identity layer found; a router built without the shared stack is our bug.
fn identity(parts: &Parts) -> Result<&Identity, ApiError> {
    parts
        .extensions
        .get::<Identity>()
        .ok_or_else(|| ApiError::internal("no Identity: route outside the HTTP stack"))
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        identity(parts)?.required().cloned()
    }
}

/// `Option<Principal>` for routes anonymous callers may use too: no Authorization
/// header is `None`; a header with a bad token is still a 401, never silently anonymous.
impl axum::extract::OptionalFromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &Arc<AppState>,
    ) -> Result<Option<Self>, ApiError> {
        identity(parts)?
            .optional()
            .map(Option::<&Principal>::cloned)
    }
}
