//! Read-your-writes at the HTTP edge: the consistency token a request carries sets
//! what its reads must reflect, and a request that wrote hands its client a new one.
//!
//! The token travels as the `X-Consistency-Token` header (any client can echo it; CORS
//! exposes it) and as the HttpOnly `__Host-bh_consistency` cookie, which browsers send
//! back by themselves. Both are read; the later position counts. A token we did not
//! sign, or one past its lifetime, is ignored: the read goes by the normal rules. The
//! position is also stored on the account's item (`store::account_state`), which the
//! identity layer reads, so a client that echoes nothing still reads its own writes
//! when it sends its access token.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::{HeaderMap, HeaderValue, Method, header};

use crate::{
    AppState,
    auth::unix_now_ms,
    cookies::{CookieSpec, SameSite},
    db::consistency::{self, WritePosition},
    http::context::RequestFacts,
    secrets::HmacKey,
};

pub const HEADER: &str = "x-consistency-token";

/// HttpOnly (no page needs it), sent to every route of the API's host.
pub const COOKIE: CookieSpec =
    CookieSpec::new("__Host-bh_consistency", "/", true, SameSite::Strict);

/// The position a request's token(s) carry, if any counts.
fn presented(key: &HmacKey, headers: &HeaderMap, now_ms: i64) -> Option<WritePosition> {
    let header = headers.get(HEADER).and_then(|value| value.to_str().ok());
    let cookie = COOKIE.read(headers);
    [header, cookie.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|token| consistency::read_token(key, token, now_ms))
        .reduce(WritePosition::later)
}

/// Middleware around every route of a function.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    // Without keys no token can be read or made; reads go by the normal rules.
    let keys = state.secrets.app_keys().await.ok();
    let now_ms = unix_now_ms();
    let read_after = keys
        .as_ref()
        .and_then(|keys| presented(&keys.consistency, request.headers(), now_ms));
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // Filled in by the identity layer (or a sign-in) while the request runs.
    let facts = request.extensions().get::<RequestFacts>().cloned();
    let (mut response, wrote) = consistency::scope(read_after, next.run(request)).await;
    if let Some(keys) = keys.filter(|_| writes && wrote && response.status().is_success()) {
        let position = state.db.position().await;
        if let Some(account_id) = facts.and_then(|facts| facts.account_id()) {
            // Every client of the account reads it back, token or not. Only before the
            // answer is it a guarantee; a failure leaves the token to carry it.
            if let Err(error) = state
                .account_states
                .record_write(account_id, position)
                .await
            {
                tracing::warn!(error = %error, "could not record the account's last write");
            }
        }
        let ttl = state.config.database.consistency_token_ttl;
        let token = consistency::issue_token(&keys.consistency, position, ttl, unix_now_ms());
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&token) {
            headers.insert(HEADER, value);
        }
        headers.append(header::SET_COOKIE, COOKIE.set(&token, ttl));
    }
    response
}
