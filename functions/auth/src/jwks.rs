//! `GET /.well-known/jwks.json`: the public half of every key that may have signed a
//! live access token. Cacheable, shorter than a rotation's overlap.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderValue, header};
use shared::{ApiError, AppState};
use shared::{auth::keyring::JwkSet, openapi::ServerErrors};

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", operation_id = "jwks",
    summary = "The public keys that verify access tokens (not rate limited)",
    security(()),
    responses((status = 200, description = "The JWK set; `Cache-Control: public, max-age=300`", body = JwkSet), ServerErrors))]
pub async fn jwks(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let keys = state.secrets.signing_keys().await?;
    let mut response = Json(keys.jwks().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}
