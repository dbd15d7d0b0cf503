//! Issuing a session's tokens (signup, login, 2FA verify, refresh), and revoking the
//! caller's other sessions when a credential changes.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use shared::{
    ApiError, AppState,
    auth::{Principal, access, cookies, csrf, refresh, unix_now},
    http::context::RequestContext,
    store::{
        accounts::Account,
        audit::{self, AuditEvent, EventType, Severity},
        families::{Family, Seen},
    },
};
use sqlx::PgConnection;

use crate::response::{SessionReply, TokenType};

/// An access token, the session's CSRF token, and the refresh and CSRF cookies.
pub struct Tokens {
    access_token: String,
    expires_in: u64,
    csrf_token: String,
    cookies: [HeaderValue; 2],
}

impl Tokens {
    /// The tokens as the answer, with the refresh and CSRF cookies set.
    pub fn respond(self, status: StatusCode, account: Option<Account>) -> Response {
        let reply = SessionReply {
            account: account.map(shared::response::Account::from),
            access_token: self.access_token,
            token_type: TokenType::Bearer,
            expires_in: self.expires_in,
            csrf_token: self.csrf_token,
        };
        let mut response = (status, axum::Json(reply)).into_response();
        for cookie in self.cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// A new family (session) for the account, and its first tokens.
pub async fn start(
    state: &AppState,
    context: &RequestContext,
    account: &Account,
    amr: Vec<String>,
) -> Result<Tokens, ApiError> {
    let family = state
        .families
        .create(
            account.id,
            &amr,
            Seen::of(context),
            state.config.auth.refresh_token_ttl,
        )
        .await?;
    issue(state, account, &family, None).await
}

/// Tokens for the family's current generation. The CSRF token belongs to the session,
/// not to a generation: a refresh passes the one it verified as `csrf_token`, and it
/// stays valid, so another tab holding it is not locked out; `None` issues a new one.
pub async fn issue(
    state: &AppState,
    account: &Account,
    family: &Family,
    csrf_token: Option<String>,
) -> Result<Tokens, ApiError> {
    let auth = &state.config.auth;
    let now = unix_now();
    let keys = state.secrets.signing_keys().await?;
    let app_keys = state.secrets.app_keys().await?;
    let subject = access::Subject {
        account_id: account.id,
        username: account.username.clone(),
        role_id: account.role_id,
        amr: family.amr.clone(),
        session_id: family.id.clone(),
        auth_time: family.created_at,
        email_verified: account.email_verified(),
    };
    let access_token =
        access::issue(&keys, &subject, auth.access_token_ttl, now).map_err(ApiError::internal)?;
    let refresh_token = refresh::issue(
        &app_keys.refresh,
        account.id,
        &family.id,
        family.generation,
        auth.refresh_token_ttl,
        now,
    )
    .map_err(ApiError::internal)?;
    let csrf_token = match csrf_token {
        Some(token) => token,
        None => csrf::issue(&app_keys.csrf, &family.id).map_err(ApiError::internal)?,
    };
    Ok(Tokens {
        access_token,
        expires_in: auth.access_token_ttl.as_secs(),
        cookies: [
            cookies::refresh(&refresh_token, auth.refresh_token_ttl),
            cookies::csrf(&csrf_token, auth.refresh_token_ttl),
        ],
        csrf_token,
    })
}

/// After a credential change, in its transaction: every other session of the caller
/// ends (before the commit: should the commit fail, they were ended for nothing, the
/// safe direction), and the event is recorded with the change and how many ended.
pub async fn revoke_others(
    state: &AppState,
    tx: &mut PgConnection,
    context: &RequestContext,
    principal: &Principal,
    event_type: EventType,
    severity: Severity,
) -> Result<(), ApiError> {
    let revoked = state
        .families
        .revoke_all(
            principal.account_id,
            Some(&principal.session_id),
            unix_now(),
        )
        .await?;
    audit::insert(
        tx,
        context,
        AuditEvent::new(event_type, severity, Some(principal.account_id))
            .details(json!({ "otherSessionsRevoked": revoked })),
    )
    .await?;
    Ok(())
}
