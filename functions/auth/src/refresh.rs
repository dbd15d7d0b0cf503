//! `POST /api/auth/refresh` and `POST /api/auth/logout`: the two cookie-authenticated
//! routes, so both check the CSRF token against the session in the refresh cookie.

use std::sync::Arc;

use axum::{
    Extension,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;
use shared::openapi::Errors;
use shared::{
    ApiError, AppState,
    auth::{
        cookies, csrf,
        refresh::{self, RefreshClaims},
    },
    http::context::{RequestContext, RequestFacts},
    secrets::AppKeys,
    store::{
        accounts,
        audit::{self, AuditEvent, EventType, Severity},
        families::{Rotation, Seen},
    },
};

use crate::{outcome::Refresh as Outcome, response::SessionReply, tokens};

const INVALID_REFRESH: ApiError = ApiError::Authentication {
    message: "Invalid or expired refresh token",
    invalid_token: false,
};

/// The refresh cookie's claims and the CSRF token, once that token has passed the
/// double-submit check for the cookie's family.
fn authenticate(keys: &AppKeys, headers: &HeaderMap) -> Result<(RefreshClaims, String), ApiError> {
    let token = cookies::read(headers, cookies::REFRESH).ok_or(INVALID_REFRESH)?;
    let claims = refresh::verify(&keys.refresh, &token).map_err(|error| {
        tracing::info!(error = %error, "refresh token refused");
        INVALID_REFRESH
    })?;
    let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let cookie = cookies::read(headers, cookies::CSRF);
    csrf::verify(&keys.csrf, &claims.fam, header, cookie.as_deref()).map_err(|error| {
        tracing::info!(error = %error, "CSRF check failed");
        ApiError::CsrfTokenInvalid
    })?;
    let token = cookie.ok_or(ApiError::CsrfTokenInvalid)?;
    Ok((claims, token))
}

/// Every refresh counts once in `Refreshes` by outcome: `rotated`, `grace` (the
/// parent within the reuse interval gets the current child), `reuse_detected` (the
/// family is revoked), `invalid` (no, a bad or an expired token, a revoked family, a
/// deleted account), `csrf_failed`, or `error` (a dependency failed).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", operation_id = "refresh",
    summary = "Rotate the refresh token and get a new access token",
    description = "Needs the `__Secure-bh_refresh` and `__Host-bh_csrf` cookies (a browser sends them with `credentials: \"include\"`) and the `X-CSRF-Token` header: the `csrfToken` of the last token response or of `GET /api/csrf-token`. The answer carries the session's `csrfToken` again (it stays the same for the session).",
    security(("refreshCookie" = [], "csrfCookie" = [], "csrfHeader" = [])),
    responses((status = 200, description = "A new access token, the session's `csrfToken`, and the rotated refresh cookie (with the CSRF cookie renewed)", body = SessionReply, headers(("Set-Cookie" = String, description = "`__Secure-bh_refresh` (the refresh token) and `__Host-bh_csrf` (the CSRF token), two Set-Cookie headers"))), Errors))]
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match rotate(&state, &context, &facts, &headers).await {
        Ok((outcome, response)) => {
            outcome.count();
            Ok(response)
        }
        Err(Refused { outcome, error }) => {
            outcome.count();
            Err(error)
        }
    }
}

/// A refresh refused, and how it counts: a failure where the refresh is not decided
/// (`?` on a dependency's error) is an `Error`.
struct Refused {
    outcome: Outcome,
    error: ApiError,
}

impl<E: Into<ApiError>> From<E> for Refused {
    fn from(error: E) -> Self {
        Self {
            outcome: Outcome::Error,
            error: error.into(),
        }
    }
}

impl Refused {
    fn invalid() -> Self {
        Self {
            outcome: Outcome::Invalid,
            error: INVALID_REFRESH,
        }
    }
}

async fn rotate(
    state: &AppState,
    context: &RequestContext,
    facts: &RequestFacts,
    headers: &HeaderMap,
) -> Result<(Outcome, Response), Refused> {
    let keys = state.secrets.app_keys().await?;
    let (claims, csrf_token) = authenticate(&keys, headers).map_err(|error| Refused {
        outcome: match error {
            ApiError::CsrfTokenInvalid => Outcome::CsrfFailed,
            _ => Outcome::Invalid,
        },
        error,
    })?;
    let auth = &state.config.auth;
    let seen = Seen::of(context);
    // The account (its id is in the verified token) is read while the family rotates:
    // one round trip's wait instead of two. Its result counts only if the rotation does.
    let account_id: Option<i64> = claims.sub.parse().ok();
    let (rotation, account) = tokio::join!(
        state.families.rotate(
            &claims.fam,
            claims.generation,
            seen,
            auth.refresh_token_ttl,
            auth.refresh_reuse_interval,
        ),
        async {
            match account_id {
                Some(id) => accounts::find_by_id(&mut *state.db.writer().await?, id).await,
                None => Ok(None),
            }
        },
    );
    let rotation = rotation?;
    let (family, rotated) = match rotation {
        Rotation::Rotated(family) => (family, true),
        // Another tab rotated a moment ago: same current generation, nothing changes.
        Rotation::Grace(family) => (family, false),
        Rotation::Reused => {
            // Counted as reuse whether or not the revocation went through.
            state
                .families
                .revoke(&claims.fam)
                .await
                .map_err(|error| Refused {
                    outcome: Outcome::ReuseDetected,
                    error: error.into(),
                })?;
            audit::record(
                &state.db,
                context,
                AuditEvent::new(
                    EventType::TokenReuseDetected,
                    Severity::Critical,
                    claims.sub.parse().ok(),
                )
                .details(
                    json!({ "familyId": claims.fam, "presentedGeneration": claims.generation }),
                ),
            )
            .await;
            return Err(Refused {
                outcome: Outcome::ReuseDetected,
                error: INVALID_REFRESH,
            });
        }
        Rotation::Invalid => return Err(Refused::invalid()),
    };

    // Username and role are read fresh: a role change or deletion applies at refresh.
    let Some(account) = account?.filter(|account| account.id == family.account_id) else {
        return Err(match state.families.revoke(&family.id).await {
            Ok(()) => Refused::invalid(),
            Err(error) => Refused {
                outcome: Outcome::Invalid,
                error: error.into(),
            },
        });
    };
    // The audit insert travels while the access token is signed (CPU, ~0.9 ms).
    let record = async {
        if rotated {
            audit::record(
                &state.db,
                context,
                AuditEvent::new(EventType::TokenRefreshed, Severity::Info, Some(account.id))
                    .details(json!({ "familyId": family.id, "generation": family.generation })),
            )
            .await;
        }
    };
    let ((), tokens) = tokio::join!(
        record,
        tokens::issue(state, &account, &family, Some(csrf_token))
    );
    let tokens = tokens?;
    facts.set_account_id(account.id);
    let outcome = if rotated {
        Outcome::Rotated
    } else {
        Outcome::Grace
    };
    Ok((outcome, tokens.respond(StatusCode::OK, None)))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", operation_id = "logout",
    summary = "End this session and clear the cookies",
    description = "Needs the same cookies and `X-CSRF-Token` header as refresh.",
    security(("refreshCookie" = [], "csrfCookie" = [], "csrfHeader" = [])),
    responses((status = 204, description = "Session revoked, cookies cleared"), Errors))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let (claims, _) = authenticate(&keys, &headers)?;
    if let Ok(account_id) = claims.sub.parse() {
        facts.set_account_id(account_id);
    }
    state.families.revoke(&claims.fam).await?;
    audit::record(
        &state.db,
        &context,
        AuditEvent::new(EventType::Logout, Severity::Info, claims.sub.parse().ok())
            .details(json!({ "familyId": claims.fam })),
    )
    .await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear_refresh());
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear_csrf());
    Ok(response)
}
