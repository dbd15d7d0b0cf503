//! `GET /api/csrf-token`: the CSRF token of the caller's session, as JSON (and as the
//! CSRF cookie, the other half of the double submit).
//!
//! The session is found where a browser sends it: the refresh cookie never comes here
//! (`Path=/api/auth`), but the CSRF cookie does (`__Host-`, `Path=/`), and its token
//! names the session it was issued for under our MAC (`csrf::binding_of`). A genuine
//! cookie is answered with the same token, so every tab of a session holds one valid
//! token; a refresh cookie, when a client does send one, decides the session; with
//! neither, the token is bound to no session (`csrf::ANONYMOUS`) and opens nothing.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, header};
use shared::openapi::Errors;
use shared::{
    ApiError, AppState,
    auth::{cookies, csrf, refresh},
    secrets::AppKeys,
};

use crate::response::CsrfToken;

/// The token to hand out for the cookies in `headers`.
fn token_for(keys: &AppKeys, headers: &HeaderMap) -> Result<String, csrf::CsrfError> {
    let held = cookies::CSRF_COOKIE
        .read(headers)
        .and_then(|token| csrf::binding_of(&keys.csrf, &token).map(|binding| (token, binding)));
    let family = cookies::REFRESH_COOKIE
        .read(headers)
        .and_then(|token| refresh::verify(&keys.refresh, &token).ok())
        .map(|claims| claims.fam);
    match (family, held) {
        // The refresh cookie names the session; the CSRF cookie's token is kept if it
        // is that session's.
        (Some(family), Some((token, binding))) if binding == family => Ok(token),
        (Some(family), _) => csrf::issue(&keys.csrf, &family),
        (None, Some((token, _))) => Ok(token),
        (None, None) => csrf::issue(&keys.csrf, csrf::ANONYMOUS),
    }
}

#[utoipa::path(get, path = "/api/csrf-token", tag = "auth", operation_id = "csrfToken",
    summary = "The CSRF token of the caller's session, also set as the `__Host-bh_csrf` cookie",
    description = "The token a page sends as `X-CSRF-Token` on refresh and logout, for a page that holds none (after a reload). The session is the one named by the `__Host-bh_csrf` cookie (Path=/, so a browser sends it here, unlike the refresh cookie), or by the `__Secure-bh_refresh` cookie if a client sends that; a genuine cookie gets the same token back. Without either the token is bound to no session and opens nothing.",
    security(()),
    responses((status = 200, description = "The token", body = CsrfToken, headers(("Set-Cookie" = String, description = "`__Host-bh_csrf` (HttpOnly, Secure, SameSite=Strict, Path=/)"))), Errors))]
pub async fn issue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let token = token_for(&keys, &headers).map_err(ApiError::internal)?;
    let cookie = cookies::csrf(&token, state.config.auth.refresh_token_ttl);
    let mut response = Json(CsrfToken { csrf_token: token }).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::STANDARD};
    use http::HeaderValue;
    use shared::secrets::FromSecret;
    use std::time::Duration;

    fn keys() -> AppKeys {
        let raw = serde_json::json!({
            "refreshKey": STANDARD.encode([1_u8; 32]),
            "csrfKey": STANDARD.encode([2_u8; 32]),
            "cursorKey": STANDARD.encode([3_u8; 32]),
            "totpKey": STANDARD.encode([4_u8; 32]),
            "backupCodeKey": STANDARD.encode([5_u8; 32]),
        });
        AppKeys::parse("test", &raw.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cookie_header(pairs: &[(&str, &str)]) -> HeaderMap {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&text.join("; ")).unwrap_or_else(|e| panic!("{e}"));
        headers.insert(header::COOKIE, value);
        headers
    }

    fn bound(keys: &AppKeys, token: &str) -> Option<String> {
        csrf::binding_of(&keys.csrf, token)
    }

    #[test]
    fn the_csrf_cookie_alone_gives_its_sessions_token_back() -> Result<(), csrf::CsrfError> {
        let keys = keys();
        let held = csrf::issue(&keys.csrf, "family-1")?;
        let token = token_for(&keys, &cookie_header(&[(cookies::CSRF, &held)]))?;
        assert_eq!(token, held);
        Ok(())
    }

    #[test]
    fn no_cookie_or_a_forged_one_gives_an_anonymous_token() -> Result<(), csrf::CsrfError> {
        let keys = keys();
        let none = token_for(&keys, &HeaderMap::new())?;
        assert_eq!(bound(&keys, &none).as_deref(), Some(csrf::ANONYMOUS));
        let forged = format!(
            "{}.x.y",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("family-1")
        );
        let token = token_for(&keys, &cookie_header(&[(cookies::CSRF, &forged)]))?;
        assert_eq!(bound(&keys, &token).as_deref(), Some(csrf::ANONYMOUS));
        Ok(())
    }

    #[test]
    fn a_refresh_cookie_decides_the_session() -> Result<(), Box<dyn std::error::Error>> {
        let keys = keys();
        let now = shared::auth::unix_now();
        let refresh = refresh::issue(
            &keys.refresh,
            7,
            "family-2",
            1,
            Duration::from_secs(60),
            now,
        )?;
        let stale = csrf::issue(&keys.csrf, "family-1")?;
        let headers = cookie_header(&[(cookies::REFRESH, &refresh), (cookies::CSRF, &stale)]);
        let token = token_for(&keys, &headers)?;
        assert_eq!(bound(&keys, &token).as_deref(), Some("family-2"));
        let current = csrf::issue(&keys.csrf, "family-2")?;
        let headers = cookie_header(&[(cookies::REFRESH, &refresh), (cookies::CSRF, &current)]);
        assert_eq!(token_for(&keys, &headers)?, current);
        Ok(())
    }
}
