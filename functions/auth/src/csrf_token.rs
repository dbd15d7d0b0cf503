//! `GET /api/csrf-token`: a token bound to the caller's session (the family in the
//! refresh cookie, when there is a valid one), as JSON and as the `bh_csrf` cookie.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, header};
use serde_json::json;
use shared::{
    ApiError, AppState,
    auth::{cookies, csrf, refresh},
};

pub async fn issue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let family = cookies::read(&headers, cookies::REFRESH)
        .and_then(|token| refresh::verify(&keys.refresh, &token).ok())
        .map(|claims| claims.fam);
    let binding = family.as_deref().unwrap_or(csrf::ANONYMOUS);
    let token = csrf::issue(&keys.csrf, binding).map_err(|e| ApiError::Internal(e.to_string()))?;
    let cookie = cookies::csrf(token.clone(), state.config.auth.refresh_token_ttl);
    let mut response = Json(json!({ "csrfToken": token })).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
