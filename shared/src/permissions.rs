//! The permission matrix (role × resource × own/other → allowed actions), as data in
//! one place. Every domain check goes through [`authorize`]; a denial is a 403
//! AUTHORIZATION_ERROR (401 for an anonymous caller) and a PERMISSION_DENIED audit event.
//! Handlers ask through the [`Caller`] extractor, so a check is one line.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::{
    AppState,
    auth::{
        Principal, reauth,
        roles::{AdminOnly, SteppedUpAdmin},
    },
    domain::Role,
    error::ApiError,
    http::context::RequestContext,
    store::{
        accounts,
        audit::{self, AuditError, AuditEvent, EventType, Severity},
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Account,
    Profile,
    Post,
    Comment,
    Report,
    Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

impl Action {
    fn letter(self) -> char {
        match self {
            Self::Create => 'C',
            Self::Read => 'R',
            Self::Update => 'U',
            Self::Delete => 'D',
        }
    }
}

/// Whose row the caller acts on. Resources without owners (reports, settings) use `Any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Own,
    Other,
    Any,
}

impl Scope {
    /// `Own` when the caller owns the row.
    pub fn of(principal: Option<&Principal>, owner_id: i64) -> Self {
        match principal {
            Some(p) if p.account_id == owner_id => Self::Own,
            _ => Self::Other,
        }
    }
}

/// Who may do what: letters of CRUD per caller, in the order
/// anonymous, user (1), moderator (3), admin (2). The seed's table, word for word;
/// "CRUD (own)" for posts and comments is split into its own and others' rows, and
/// not-deleted posts and comments are readable by anyone.
const MATRIX: &[(Resource, Scope, [&str; 4])] = &[
    (Resource::Account, Scope::Own, ["", "RUD", "RUD", "CRUD"]),
    (Resource::Account, Scope::Other, ["", "R", "R", "CRUD"]),
    (Resource::Profile, Scope::Own, ["", "CRUD", "CRUD", "CRUD"]),
    (Resource::Profile, Scope::Other, ["", "R", "RUD", "CRUD"]),
    (Resource::Post, Scope::Own, ["", "CRUD", "CRUD", "CRUD"]),
    (Resource::Post, Scope::Other, ["R", "R", "RUD", "RUD"]),
    (Resource::Comment, Scope::Own, ["", "CRUD", "CRUD", "CRUD"]),
    (Resource::Comment, Scope::Other, ["R", "R", "RUD", "RUD"]),
    (Resource::Report, Scope::Any, ["", "C", "RU", "CRUD"]),
    (Resource::Settings, Scope::Any, ["", "", "", "CRUD"]),
];

fn column(role: Option<Role>) -> usize {
    match role {
        None => 0,
        Some(Role::User) => 1,
        Some(Role::Moderator) => 2,
        Some(Role::Admin) => 3,
    }
}

/// The rule itself: may a caller with this role (None: anonymous) do `action`?
/// A resource without owners answers the same for every scope.
pub fn allows(role: Option<Role>, resource: Resource, action: Action, scope: Scope) -> bool {
    MATRIX
        .iter()
        .find(|(r, s, _)| *r == resource && (*s == scope || *s == Scope::Any))
        .is_some_and(|(_, _, letters)| letters[column(role)].contains(action.letter()))
}

/// With `REQUIRE_VERIFIED_EMAIL`, creating and editing posts and comments needs an
/// access token whose `email_verified` claim is true (the default lets unverified
/// accounts read and write; admins see `emailVerified` on every account).
fn may_publish(
    require_verified: bool,
    principal: &Principal,
    resource: Resource,
    action: Action,
) -> bool {
    !require_verified
        || principal.email_verified
        || !matches!(resource, Resource::Post | Resource::Comment)
        || !matches!(action, Action::Create | Action::Update)
}

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

    /// In a write's transaction on a row owned by `owner`: when it is someone else's
    /// (a moderator or admin moderating), the caller is confirmed on the writer and
    /// CONTENT_MODERATED is recorded with the change. Nothing for one's own rows.
    pub async fn moderation(
        &self,
        tx: &mut PgConnection,
        resource: Resource,
        action: Action,
        owner_account_id: i64,
        id: i64,
    ) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Option<Role> = Some(Role::User);
    const MODERATOR: Option<Role> = Some(Role::Moderator);
    const ADMIN: Option<Role> = Some(Role::Admin);

    #[test]
    fn users_own_their_posts_and_only_read_others() {
        for action in [Action::Create, Action::Read, Action::Update, Action::Delete] {
            assert!(allows(USER, Resource::Post, action, Scope::Own));
        }
        assert!(allows(USER, Resource::Post, Action::Read, Scope::Other));
        assert!(!allows(USER, Resource::Post, Action::Update, Scope::Other));
        assert!(!allows(USER, Resource::Post, Action::Delete, Scope::Other));
    }

    #[test]
    fn moderators_and_admins_moderate_everything_but_settings() {
        for role in [MODERATOR, ADMIN] {
            for resource in [Resource::Post, Resource::Comment] {
                assert!(allows(role, resource, Action::Update, Scope::Other));
                assert!(allows(role, resource, Action::Delete, Scope::Other));
            }
        }
        assert!(allows(
            MODERATOR,
            Resource::Report,
            Action::Update,
            Scope::Any
        ));
        assert!(!allows(
            MODERATOR,
            Resource::Report,
            Action::Delete,
            Scope::Any
        ));
        assert!(!allows(
            MODERATOR,
            Resource::Settings,
            Action::Read,
            Scope::Any
        ));
        assert!(!allows(
            MODERATOR,
            Resource::Account,
            Action::Update,
            Scope::Other
        ));
        assert!(allows(
            ADMIN,
            Resource::Settings,
            Action::Delete,
            Scope::Any
        ));
        assert!(allows(
            ADMIN,
            Resource::Account,
            Action::Create,
            Scope::Other
        ));
    }

    #[test]
    fn unverified_accounts_post_unless_configuration_requires_a_verified_address() {
        let unverified = principal(7);
        let verified = Principal {
            email_verified: true,
            ..principal(7)
        };
        for resource in [Resource::Post, Resource::Comment] {
            for action in [Action::Create, Action::Update] {
                assert!(may_publish(false, &unverified, resource, action));
                assert!(!may_publish(true, &unverified, resource, action));
                assert!(may_publish(true, &verified, resource, action));
            }
            for action in [Action::Read, Action::Delete] {
                assert!(may_publish(true, &unverified, resource, action));
            }
        }
        for resource in [Resource::Profile, Resource::Account, Resource::Report] {
            assert!(may_publish(true, &unverified, resource, Action::Create));
        }
    }

    #[test]
    fn anonymous_callers_only_read_posts_and_comments() {
        for resource in [Resource::Post, Resource::Comment] {
            assert!(allows(None, resource, Action::Read, Scope::Other));
            assert!(!allows(None, resource, Action::Create, Scope::Own));
        }
        for resource in [Resource::Account, Resource::Profile] {
            assert!(!allows(None, resource, Action::Read, Scope::Other));
        }
        assert!(!allows(None, Resource::Report, Action::Create, Scope::Any));
    }

    fn principal(account_id: i64) -> Principal {
        Principal {
            account_id,
            username: "a".into(),
            role_id: 1,
            amr: vec!["pwd".into()],
            session_id: "s".into(),
            issued_at: 0,
            auth_time: 0,
            email_verified: false,
        }
    }

    #[test]
    fn every_caller_kind_names_its_principal() {
        let owner = |identity: &dyn Identity| identity.as_principal().map(|p| p.account_id);
        assert_eq!(owner(&principal(7)), Some(7));
        assert_eq!(owner(&Some(principal(7))), Some(7));
        assert_eq!(owner(&None::<Principal>), None);
        assert_eq!(owner(&AdminOnly(principal(7))), Some(7));
        assert_eq!(owner(&SteppedUpAdmin(principal(7))), Some(7));
        assert_eq!(Scope::of(Some(&principal(7)), 7), Scope::Own);
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

    #[test]
    fn users_file_reports_but_cannot_read_them() {
        assert!(allows(USER, Resource::Report, Action::Create, Scope::Any));
        assert!(!allows(USER, Resource::Report, Action::Read, Scope::Own));
    }
}
