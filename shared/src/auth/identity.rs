//! Who is calling, resolved once per request by the [`identify`] layer: the Bearer
//! token verified (RS256, one of our kids, at most one rate-limited refetch of the key
//! set for an unknown kid), then held against what DynamoDB says now — its session not
//! revoked, its account not deleted, its role unchanged — in the request's one
//! DynamoDB read, which also brings the client IP's block and the account's last
//! write (read-your-writes). The rate limiter and every extractor read the result;
//! nothing verifies a token twice.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use super::{
    Principal,
    access::{self, TokenError},
    unix_now, unix_now_ms,
};
use crate::{
    AppState,
    db::consistency,
    error::ApiError,
    http::context::{self, RequestContext},
    metrics,
    store::request_state::{Access, Claimed, RequestState},
};

#[derive(Debug, Clone)]
pub enum Authentication {
    /// No `Authorization: Bearer` header.
    Anonymous,
    Valid(Principal),
    /// Not a token we signed, expired, for another audience, or revoked since.
    Invalid,
    /// The keys to check it could not be read (Secrets Manager unreachable).
    Unverifiable,
}

/// The request's caller and client, as the [`identify`] layer found them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub authentication: Authentication,
    /// When the client IP's brute-force block ends (Unix ms), if it is blocked now.
    /// Unknown (`None`) while DynamoDB cannot be read.
    pub blocked_until_ms: Option<i64>,
}

impl Identity {
    pub fn principal(&self) -> Option<&Principal> {
        match &self.authentication {
            Authentication::Valid(principal) => Some(principal),
            _ => None,
        }
    }

    /// The caller, or the refusal a route that needs one answers.
    pub fn required(&self) -> Result<&Principal, ApiError> {
        match &self.authentication {
            Authentication::Valid(principal) => Ok(principal),
            Authentication::Anonymous => Err(ApiError::AUTHENTICATION_REQUIRED),
            Authentication::Invalid => Err(ApiError::INVALID_TOKEN),
            Authentication::Unverifiable => Err(ApiError::ServiceUnavailable {
                message: "The service is temporarily unavailable".into(),
                retry_after_seconds: 5,
                details: None,
            }),
        }
    }

    /// For routes anonymous callers may use too: no header is anonymous, a bad token
    /// is still refused, never silently anonymous.
    pub fn optional(&self) -> Result<Option<&Principal>, ApiError> {
        match self.authentication {
            Authentication::Anonymous => Ok(None),
            _ => self.required().map(Some),
        }
    }
}

/// Why a token with a valid signature no longer counts, if it does not.
pub fn refusal(principal: &Principal, found: &RequestState, now: i64) -> Option<&'static str> {
    let Some(session) = &found.session else {
        return Some("unknown session");
    };
    if session.account_id != principal.account_id {
        Some("session of another account")
    } else if session.revoked {
        Some("session revoked")
    } else if session.expires_at <= now {
        Some("session expired")
    } else if found.account.deleted {
        Some("account deleted")
    } else if found
        .account
        .role_id
        .is_some_and(|role| role != principal.role_id)
    {
        Some("role changed")
    } else {
        None
    }
}

/// Verifies a Bearer token's signature and claims (no revocation check).
pub async fn verify(state: &AppState, token: &str) -> Authentication {
    let auth = &state.config.auth;
    let keys = match state.secrets.signing_keys().await {
        Ok(keys) => keys,
        Err(_) => return Authentication::Unverifiable,
    };
    let verified = match access::verify(&keys, token, auth.leeway) {
        Err(TokenError::UnknownKid) => match state
            .secrets
            .refetch_signing_keys(auth.key_refetch_interval)
            .await
        {
            Ok(keys) => access::verify(&keys, token, auth.leeway),
            Err(_) => return Authentication::Unverifiable,
        },
        other => other,
    };
    match verified {
        Ok(claims) => Authentication::Valid(Principal::from(claims)),
        Err(error) => {
            tracing::info!(error = %error, "access token refused");
            Authentication::Invalid
        }
    }
}

/// Layer around every route of a function (inside the consistency scope, so the
/// account's last write can raise what this request's reads must see).
pub async fn identify(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let authentication = match super::principal::bearer_token(request.headers()) {
        None => Authentication::Anonymous,
        Some(token) => verify(&state, token).await,
    };
    let mut identity = Identity {
        authentication,
        blocked_until_ms: None,
    };
    // Only API routes read DynamoDB: the JWKS, outside /api, stays public and free.
    if request.uri().path().starts_with("/api/") {
        let ip = request
            .extensions()
            .get::<RequestContext>()
            .and_then(|context| context.client_ip)
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let access = Access::of(request.method());
        identity = check(&state, identity, &ip, access).await;
    }
    if let Some(principal) = identity.principal() {
        // Known to the access log even when a layer answers (429, 403 blocked).
        context::identify(request.extensions(), principal.account_id);
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}

async fn check(state: &AppState, identity: Identity, ip: &str, access: Access) -> Identity {
    let claimed = identity.principal().map(|principal| Claimed {
        account_id: principal.account_id,
        session_id: &principal.session_id,
    });
    let found = match state
        .request_states
        .load(ip, claimed, access, unix_now_ms())
        .await
    {
        Ok(found) => found,
        Err(error) => {
            // Fail open, as the public rate-limit tiers do: the signature was checked,
            // what DynamoDB adds (revocation, blocks) is unknown until it answers.
            // Privileged writes re-check their actor on the writer regardless.
            tracing::warn!(error = %error, "request state unavailable; the token counts on its signature");
            metrics::count("RequestStateUnavailable", &[]);
            // Its last write unknown, the caller reads from the writer (read-your-writes
            // holds; the replica is spared again once DynamoDB answers).
            if identity.principal().is_some() {
                consistency::position_unknown();
            }
            return identity;
        }
    };
    let authentication = match identity.authentication {
        Authentication::Valid(principal) => match refusal(&principal, &found, unix_now()) {
            Some(reason) => {
                tracing::info!(reason, "access token refused");
                Authentication::Invalid
            }
            None => {
                if let Some(position) = found.account.last_write {
                    consistency::raise(position);
                }
                Authentication::Valid(principal)
            }
        },
        other => other,
    };
    Identity {
        authentication,
        blocked_until_ms: found.blocked_until_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{account_state::AccountState, families::Family};

    const NOW: i64 = 1_800_000_000;

    fn principal(role_id: i16) -> Principal {
        Principal {
            role_id,
            issued_at: NOW - 10,
            auth_time: NOW - 10,
            ..Principal::for_tests(7)
        }
    }

    fn session() -> Family {
        Family {
            id: "s".into(),
            account_id: 7,
            generation: 0,
            revoked: false,
            created_at: NOW - 100,
            last_used_at: NOW - 100,
            rotated_at: NOW - 100,
            ip: None,
            user_agent: None,
            amr: vec!["pwd".into()],
            expires_at: NOW + 100,
        }
    }

    fn found(session: Option<Family>, account: AccountState) -> RequestState {
        RequestState {
            blocked_until_ms: None,
            session,
            account,
        }
    }

    #[test]
    fn a_live_session_of_an_unchanged_account_counts() {
        let state = found(Some(session()), AccountState::default());
        assert_eq!(refusal(&principal(1), &state, NOW), None);
        let same_role = AccountState {
            role_id: Some(1),
            ..AccountState::default()
        };
        assert_eq!(
            refusal(&principal(1), &found(Some(session()), same_role), NOW),
            None
        );
    }

    #[test]
    fn revoked_unknown_expired_or_foreign_sessions_do_not() {
        let p = principal(1);
        assert!(refusal(&p, &found(None, AccountState::default()), NOW).is_some());
        let mut revoked = session();
        revoked.revoked = true;
        assert!(refusal(&p, &found(Some(revoked), AccountState::default()), NOW).is_some());
        let mut expired = session();
        expired.expires_at = NOW;
        assert!(refusal(&p, &found(Some(expired), AccountState::default()), NOW).is_some());
        let mut foreign = session();
        foreign.account_id = 8;
        assert!(refusal(&p, &found(Some(foreign), AccountState::default()), NOW).is_some());
    }

    #[test]
    fn a_deleted_account_or_a_changed_role_ends_the_token() {
        let deleted = AccountState {
            deleted: true,
            ..AccountState::default()
        };
        assert_eq!(
            refusal(&principal(1), &found(Some(session()), deleted), NOW),
            Some("account deleted")
        );
        let demoted = AccountState {
            role_id: Some(1),
            ..AccountState::default()
        };
        assert_eq!(
            refusal(&principal(3), &found(Some(session()), demoted), NOW),
            Some("role changed")
        );
    }
}
