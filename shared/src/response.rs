//! Answers more than one function gives (the account, as its owner and as others see
//! it), with their OpenAPI schemas derived from them. The store's [`store::accounts::Account`] is the row,
//! password hash included; these are what leaves the API.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{domain::Role, store};

/// An account as its owner, or an admin, sees it (never the hash).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role_id: i16,
    /// The name of `roleId` (null for a role this build does not know).
    #[schema(required)]
    pub role: Option<Role>,
    #[schema(required)]
    pub first_name: Option<String>,
    #[schema(required)]
    pub last_name: Option<String>,
    pub two_factor_enabled: bool,
    /// A link mailed to the current address was used.
    pub email_verified: bool,
    /// Only in the answer of a PATCH that asked for a new address, until its link is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub pending_email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The row is moved, not copied: every handler answers with it last.
impl From<store::accounts::Account> for Account {
    fn from(row: store::accounts::Account) -> Self {
        Self {
            email_verified: row.email_verified(),
            role: Role::from_id(row.role_id),
            id: row.id,
            username: row.username,
            email: row.email,
            role_id: row.role_id,
            first_name: row.first_name,
            last_name: row.last_name,
            two_factor_enabled: row.two_factor_enabled,
            pending_email: None,
            created_at: row.created_at,
        }
    }
}

/// What any signed-in caller may see of another's account: no email, nor whether 2FA
/// is on (that would tell an attacker which accounts are easier targets), nor the role
/// (which accounts are the admins and moderators worth attacking).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicAccount {
    pub id: i64,
    pub username: String,
    #[schema(required)]
    pub first_name: Option<String>,
    #[schema(required)]
    pub last_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<store::accounts::Account> for PublicAccount {
    fn from(row: store::accounts::Account) -> Self {
        Self {
            id: row.id,
            username: row.username,
            first_name: row.first_name,
            last_name: row.last_name,
            created_at: row.created_at,
        }
    }
}

/// `{account}`: the answer of the routes that name the caller's or a new account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountReply {
    pub account: Account,
}

impl From<store::accounts::Account> for AccountReply {
    fn from(row: store::accounts::Account) -> Self {
        Self {
            account: row.into(),
        }
    }
}
