//! Role gates as extractors: `AdminOnly` for admin routes, `SteppedUpAdmin` for the
//! sensitive ones (admin role and a recent one-time password). A refusal is a 403
//! AUTHORIZATION_ERROR (or STEP_UP_REQUIRED) and a PERMISSION_DENIED audit event.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::json;

use super::{Principal, step_up};
use crate::{AppState, domain::Role, error::ApiError, http::context::RequestContext, permissions};

/// The admin role, else the matrix's own refusal (403, audited as PERMISSION_DENIED).
async fn require_admin(
    parts: &Parts,
    state: &AppState,
    principal: Principal,
) -> Result<Principal, ApiError> {
    if Role::from_id(principal.role_id) == Some(Role::Admin) {
        return Ok(principal);
    }
    let context = parts
        .extensions
        .get::<RequestContext>()
        .ok_or_else(|| ApiError::internal("no request context"))?;
    let details = json!({ "path": parts.uri.path(), "required": "admin" });
    Err(permissions::deny(state, context, &principal, details).await)
}

#[derive(Debug, Clone)]
pub struct AdminOnly(pub Principal);

impl FromRequestParts<Arc<AppState>> for AdminOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        require_admin(parts, state, principal).await.map(Self)
    }
}

#[derive(Debug, Clone)]
pub struct SteppedUpAdmin(pub Principal);

impl FromRequestParts<Arc<AppState>> for SteppedUpAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        // The role first: a non-admin learns nothing about step-up.
        let principal = Principal::from_request_parts(parts, state).await?;
        let principal = require_admin(parts, state, principal).await?;
        step_up::require(&principal, state)?;
        Ok(Self(principal))
    }
}
