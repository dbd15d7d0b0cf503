//! The permission matrix (role × resource × own/other → allowed actions), as data in
//! one place, and the rule that reads it ([`allows`]). Handlers ask through the
//! [`Caller`](crate::auth::caller::Caller) extractor, which applies it and audits a
//! denial, so a check is one line.

use crate::{auth::Principal, domain::Role};

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
pub fn may_publish(
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
        let unverified = Principal::for_tests(7);
        let verified = Principal {
            email_verified: true,
            ..Principal::for_tests(7)
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

    #[test]
    fn users_file_reports_but_cannot_read_them() {
        assert!(allows(USER, Resource::Report, Action::Create, Scope::Any));
        assert!(!allows(USER, Resource::Report, Action::Read, Scope::Own));
    }
}
