//! Who may do what, at the request: the [`Caller`] extractor (a domain route's caller,
//! with what a matrix check and its audit event need), the role gates [`AdminOnly`] and
//! [`SteppedUpAdmin`], and [`authorize`]/[`deny`]. A denial is a 403
//! AUTHORIZATION_ERROR (401 for an anonymous caller) and a PERMISSION_DENIED audit
//! event; the rule itself is the matrix in [`crate::permissions`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::{Principal, reauth, step_up};
use crate::{
    AppState,
    domain::Role,
    error::ApiError,
    http::context::RequestContext,
    permissions::{Action, Resource, Scope, allows, may_publish},
    store::{
        accounts,
        audit::{self, AuditError, AuditEvent, EventType, Severity},
    },
};

/// Checks the matrix for this caller; a denial is audited.
pub async fn authorize(
    state: &AppState,
    context: &RequestContext,
    principal: Option<&Principal>,
    resource: Resource,
    action: Action,
    scope: Scope,
) -> Result<(), ApiError> {
    let role = principal.and_then(|p| Role::from_id(p.role_id));
    if allows(role, resource, action, scope) {
        return match principal {
            Some(principal)
                if !may_publish(
                    state.config.mail.require_verified_email,
                    principal,
                    resource,
                    action,
                ) =>
            {
                Err(ApiError::Authorization(
                    "Verify your email address before posting (then refresh your token)",
                ))
            }
            _ => Ok(()),
        };
    }
    match principal {
        None => Err(ApiError::AUTHENTICATION_REQUIRED),
        Some(principal) => Err(deny(
            state,
            context,
            principal,
            json!({
                "resource": format!("{resource:?}"),
                "action": format!("{action:?}"),
                "scope": format!("{scope:?}"),
            }),
        )
        .await),
    }
}

/// The 403 for a refused operation, audited as PERMISSION_DENIED with `details`; also
/// for refusals the matrix cannot see, such as naming another's profile as an author.
pub async fn deny(
    state: &AppState,
    context: &RequestContext,
    principal: &Principal,
    details: serde_json::Value,
) -> ApiError {
    audit::record(
        &state.db,
        context,
        AuditEvent::new(
            EventType::PermissionDenied,
            Severity::Warning,
            Some(principal.account_id),
        )
        .details(details),
    )
    .await;
    ApiError::Authorization("Your role does not allow this operation")
}

/// A domain route's caller, with the state and request context a matrix check and its
/// audit event need. `P` is what the route demands before any check: `Principal` (a
/// valid Bearer token, else 401), `Option<Principal>` ([`AnyCaller`]), or a role gate
/// (`AdminOnly`, `SteppedUpAdmin`) that keeps running first with its own refusals.
pub struct Caller<P = Principal> {
    pub principal: P,
    state: Arc<AppState>,
    context: RequestContext,
}

/// For routes anonymous callers may use too: no Authorization header is anonymous, a
/// bad token is still a 401.
pub type AnyCaller = Caller<Option<Principal>>;

/// Who a caller extractor proved the caller to be (None: anonymous).
pub trait Identity {
    fn as_principal(&self) -> Option<&Principal>;
}

impl Identity for Principal {
    fn as_principal(&self) -> Option<&Principal> {
        Some(self)
    }
}

impl Identity for Option<Principal> {
    fn as_principal(&self) -> Option<&Principal> {
        self.as_ref()
    }
}

impl Identity for AdminOnly {
    fn as_principal(&self) -> Option<&Principal> {
        Some(&self.0)
    }
}

impl Identity for SteppedUpAdmin {
    fn as_principal(&self) -> Option<&Principal> {
        Some(&self.0)
    }
}

impl<P> FromRequestParts<Arc<AppState>> for Caller<P>
where
    P: FromRequestParts<Arc<AppState>, Rejection = ApiError> + Identity,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let principal = P::from_request_parts(parts, state).await?;
        Ok(Self {
            principal,
            state: Arc::clone(state),
            context: request_context(parts)?,
        })
    }
}

/// The shared HTTP stack inserts the context; a router built without it is our bug.
fn request_context(parts: &Parts) -> Result<RequestContext, ApiError> {
    parts
        .extensions
        .get::<RequestContext>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no RequestContext: route outside the HTTP stack"))
}

impl<P: Identity> Caller<P> {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// `Own` when the caller owns the row.
    pub fn scope_of(&self, owner_account_id: i64) -> Scope {
        Scope::of(self.principal.as_principal(), owner_account_id)
    }

    /// [`authorize`] for this caller.
    pub async fn may(
        &self,
        resource: Resource,
        action: Action,
        scope: Scope,
    ) -> Result<(), ApiError> {
        authorize(
            &self.state,
            &self.context,
            self.principal.as_principal(),
            resource,
            action,
            scope,
        )
        .await
    }

    /// [`authorize`] on a row owned by `owner_account_id`.
    pub async fn may_on(
        &self,
        resource: Resource,
        action: Action,
        owner_account_id: i64,
    ) -> Result<(), ApiError> {
        self.may(resource, action, self.scope_of(owner_account_id))
            .await
    }

    /// [`deny`] for this caller (401 for an anonymous one, as [`authorize`] answers).
    pub async fn deny(&self, details: Value) -> ApiError {
        match self.principal.as_principal() {
            Some(principal) => deny(&self.state, &self.context, principal, details).await,
            None => ApiError::AUTHENTICATION_REQUIRED,
        }
    }

    /// [`reauth::require`]: the caller proves it knows its account's secrets now.
    pub async fn reauthenticate(
        &self,
        proof: &reauth::Proof,
        operation: &'static str,
    ) -> Result<(), ApiError> {
        match self.principal.as_principal() {
            Some(principal) => {
                reauth::require(&self.state, &self.context, principal, proof, operation).await
            }
            None => Err(ApiError::AUTHENTICATION_REQUIRED),
        }
    }

    /// For a privileged write, inside its transaction: the caller is still live and
    /// still has the role its token names, as the writer says now (a token is checked
    /// against revocation once per request, in DynamoDB; this holds even while that
    /// check fails open). Share-locks the caller's row until the commit.
    pub async fn confirm(&self, tx: &mut PgConnection) -> Result<(), ApiError> {
        let Some(principal) = self.principal.as_principal() else {
            return Err(ApiError::AUTHENTICATION_REQUIRED);
        };
        match accounts::live_role(&mut *tx, principal.account_id).await? {
            Some(role) if role == principal.role_id => Ok(()),
            _ => Err(ApiError::INVALID_TOKEN),
        }
    }

    /// Records, in the change's transaction, an audit event done by this caller: the
    /// change commits only with it.
    pub async fn audit_in(
        &self,
        tx: &mut PgConnection,
        event_type: EventType,
        severity: Severity,
        details: Value,
    ) -> Result<(), AuditError> {
        let account_id = self.principal.as_principal().map(|p| p.account_id);
        audit::insert(
            tx,
            &self.context,
            AuditEvent::new(event_type, severity, account_id).details(details),
        )
        .await
    }

    /// In a write's transaction on a row owned by `owner`: the matrix's check
    /// ([`Self::may_on`]), then, when the row is someone else's (a moderator or admin
    /// moderating), the caller confirmed on the writer and CONTENT_MODERATED recorded
    /// with the change. One call, so no write checks the one without the other.
    pub async fn may_change(
        &self,
        tx: &mut PgConnection,
        resource: Resource,
        action: Action,
        owner_account_id: i64,
        id: i64,
    ) -> Result<(), ApiError> {
        self.may_on(resource, action, owner_account_id).await?;
        if self.scope_of(owner_account_id) == Scope::Own {
            return Ok(());
        }
        self.confirm(&mut *tx).await?;
        let details = json!({
            "resource": format!("{resource:?}"),
            "action": format!("{action:?}"),
            "id": id,
            "ownerAccountId": owner_account_id,
        });
        self.audit_in(tx, EventType::ContentModerated, Severity::Warning, details)
            .await?;
        Ok(())
    }

    /// The request's context (for audit events written elsewhere).
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Records an audit event done by this caller, best effort (an event no database
    /// change goes with, such as a denial).
    pub async fn audit(&self, event_type: EventType, severity: Severity, details: Value) {
        let account_id = self.principal.as_principal().map(|p| p.account_id);
        audit::record(
            &self.state.db,
            &self.context,
            AuditEvent::new(event_type, severity, account_id).details(details),
        )
        .await;
    }
}

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
    Err(deny(state, context, &principal, details).await)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_caller_kind_names_its_principal() {
        let owner = |identity: &dyn Identity| identity.as_principal().map(|p| p.account_id);
        assert_eq!(owner(&Principal::for_tests(7)), Some(7));
        assert_eq!(owner(&Some(Principal::for_tests(7))), Some(7));
        assert_eq!(owner(&None::<Principal>), None);
        assert_eq!(owner(&AdminOnly(Principal::for_tests(7))), Some(7));
        assert_eq!(owner(&SteppedUpAdmin(Principal::for_tests(7))), Some(7));
        assert_eq!(Scope::of(Some(&Principal::for_tests(7)), 7), Scope::Own);
        assert_eq!(Scope::of(None, 7), Scope::Other);
    }

    #[test]
    fn a_route_outside_the_http_stack_is_an_internal_error_not_a_panic() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        assert!(matches!(
            request_context(&parts),
            Err(ApiError::Internal(_))
        ));
        parts.extensions.insert(RequestContext {
            request_id: "r".into(),
            client_ip: None,
            user_agent: None,
            cold_start: false,
        });
        assert_eq!(
            request_context(&parts).map(|c| c.request_id).ok(),
            Some("r".to_owned())
        );
    }
}
