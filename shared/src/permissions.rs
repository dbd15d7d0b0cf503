//! The permission matrix (role × resource × own/other → allowed actions), as data in
//! one place. Every domain check goes through [`authorize`]; a denial is a 403
//! AUTHORIZATION_ERROR (401 for an anonymous caller) and a PERMISSION_DENIED audit event.

use serde_json::json;

use crate::{
    AppState,
    auth::Principal,
    domain::Role,
    error::ApiError,
    http::context::RequestContext,
    store::audit::{self, AuditEvent, Severity},
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
        return Ok(());
    }
    match principal {
        None => Err(ApiError::Authentication {
            message: "Authentication required: send Authorization: Bearer <access token>",
            invalid_token: false,
        }),
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
        state.db.writer(),
        context,
        AuditEvent::new(
            "PERMISSION_DENIED",
            Severity::Warning,
            Some(principal.account_id),
        )
        .details(details),
    )
    .await;
    ApiError::Authorization("Your role does not allow this operation")
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

    #[test]
    fn users_file_reports_but_cannot_read_them() {
        assert!(allows(USER, Resource::Report, Action::Create, Scope::Any));
        assert!(!allows(USER, Resource::Report, Action::Read, Scope::Own));
    }
}
