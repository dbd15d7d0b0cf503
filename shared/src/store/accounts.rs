//! The accounts table.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use super::StoreError;
use crate::{
    cursor::Keyset,
    domain::{Email, PersonName, Role, Username},
    error::OnConstraint,
};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role_id: i16,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub two_factor_enabled: bool,
    pub created_at: OffsetDateTime,
    /// When the current address was proven (a link mailed to it was used).
    pub email_verified_at: Option<OffsetDateTime>,
}

impl Account {
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

pub struct NewAccount<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub role: Role,
    pub first_name: Option<&'a PersonName>,
    pub last_name: Option<&'a PersonName>,
}

/// A taken username or email (the unique keys) as `Conflict`, the 409.
fn taken(constraint: &str) -> Option<StoreError> {
    match constraint {
        "accounts_username_key" => Some(StoreError::Conflict("username")),
        "accounts_email_key" => Some(StoreError::Conflict("email")),
        _ => None,
    }
}

pub async fn insert(
    executor: impl PgExecutor<'_>,
    new: NewAccount<'_>,
) -> Result<Account, StoreError> {
    sqlx::query_as!(
        Account,
        "INSERT INTO accounts (username, email, password_hash, role_id, first_name, last_name)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at",
        new.username.as_str(),
        new.email.as_str(),
        new.password_hash,
        new.role.id(),
        new.first_name.map(PersonName::as_str),
        new.last_name.map(PersonName::as_str)
    )
    .fetch_one(executor)
    .await
    .on_constraint(taken)
}

/// By username (case-insensitive) or email; deleted accounts are not found.
pub async fn find_by_login(
    executor: impl PgExecutor<'_>,
    login: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at
         FROM accounts WHERE NOT deleted AND (lower(username) = lower($1) OR email = lower($1))",
        login.trim()
    )
    .fetch_optional(executor)
    .await?)
}

pub async fn find_by_id(
    executor: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at
         FROM accounts WHERE id = $1 AND NOT deleted",
        id
    )
    .fetch_optional(executor)
    .await?)
}

/// Like [`find_by_id`], row-locked until the transaction ends: the guard of every
/// write to an account (and of a cascade that must not race a new profile or post).
pub async fn lock(executor: impl PgExecutor<'_>, id: i64) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at
         FROM accounts WHERE id = $1 AND NOT deleted FOR UPDATE",
        id
    )
    .fetch_optional(executor)
    .await?)
}

/// Every live admin's id, row-locked in id order until the transaction ends: the guard
/// of "at least one admin, always". Two transactions that would each remove an admin
/// queue here, and the second sees the first's change.
pub async fn lock_admins(executor: impl PgExecutor<'_>) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM accounts WHERE role_id = $1 AND NOT deleted ORDER BY id FOR UPDATE",
        Role::Admin.id()
    )
    .fetch_all(executor)
    .await?)
}

/// The live account's role, share-locked until the transaction ends (so it cannot be
/// demoted or deleted while a privileged write it makes commits).
pub async fn live_role(executor: impl PgExecutor<'_>, id: i64) -> Result<Option<i16>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT role_id FROM accounts WHERE id = $1 AND NOT deleted FOR SHARE",
        id
    )
    .fetch_optional(executor)
    .await?)
}

/// Accounts that are not deleted, newest first, one keyset page (plus one row, so the
/// caller knows whether another page follows).
pub async fn page(
    executor: impl PgExecutor<'_>,
    page: &Keyset,
) -> Result<Vec<Account>, StoreError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at
         FROM accounts
         WHERE NOT deleted AND ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2))
         ORDER BY created_at DESC, id DESC
         LIMIT $3",
        page.after_time(),
        page.after_id(),
        page.fetch()
    )
    .fetch_all(executor)
    .await?)
}

/// A change to an account's own details. For the names, `None` keeps the value and
/// `Some(None)` clears it; an email can be replaced but never removed, and a new one
/// counts as unverified.
#[derive(Debug, Default)]
pub struct DetailsChange<'a> {
    pub first_name: Option<Option<&'a PersonName>>,
    pub last_name: Option<Option<&'a PersonName>>,
    pub email: Option<&'a Email>,
}

/// Applies `change` and returns the row as written; a taken email is a `Conflict`.
pub async fn update_details(
    executor: impl PgExecutor<'_>,
    id: i64,
    change: &DetailsChange<'_>,
) -> Result<Account, StoreError> {
    sqlx::query_as!(
        Account,
        "UPDATE accounts SET
             first_name = CASE WHEN $2 THEN $3 ELSE first_name END,
             last_name = CASE WHEN $4 THEN $5 ELSE last_name END,
             email = COALESCE($6, email),
             email_verified_at = CASE WHEN $6 IS NULL OR $6 = email THEN email_verified_at END,
             updated_at = now()
         WHERE id = $1 AND NOT deleted
         RETURNING id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at",
        id,
        change.first_name.is_some(),
        change.first_name.flatten().map(PersonName::as_str),
        change.last_name.is_some(),
        change.last_name.flatten().map(PersonName::as_str),
        change.email.map(Email::as_str)
    )
    .fetch_one(executor)
    .await
    .on_constraint(taken)
}

pub async fn set_role(
    executor: impl PgExecutor<'_>,
    id: i64,
    role: Role,
) -> Result<Account, StoreError> {
    Ok(sqlx::query_as!(
        Account,
        "UPDATE accounts SET role_id = $2, updated_at = now() WHERE id = $1 AND NOT deleted
         RETURNING id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at",
        id,
        role.id()
    )
    .fetch_one(executor)
    .await?)
}

/// `changed` is true for a new password, false for a rehash of the same one.
pub async fn set_password_hash(
    executor: impl PgExecutor<'_>,
    id: i64,
    hash: &str,
    changed: bool,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE accounts SET password_hash = $2, updated_at = now(),
                password_changed_at = CASE WHEN $3 THEN now() ELSE password_changed_at END
         WHERE id = $1",
        id,
        hash,
        changed
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The address a mailed link proved: the account's own (a verification, or a password
/// reset through it) or its new one (an email change), verified from now on. A new
/// address taken meanwhile by another account is a `Conflict`.
pub async fn set_verified_email(
    executor: impl PgExecutor<'_>,
    id: i64,
    email: &Email,
) -> Result<Account, StoreError> {
    sqlx::query_as!(
        Account,
        "UPDATE accounts SET email = $2, updated_at = now(),
                email_verified_at = CASE WHEN email = $2 THEN COALESCE(email_verified_at, now()) ELSE now() END
         WHERE id = $1 AND NOT deleted
         RETURNING id, username, email, password_hash, role_id, first_name, last_name,
                two_factor_enabled, created_at, email_verified_at",
        id,
        email.as_str()
    )
    .fetch_one(executor)
    .await
    .on_constraint(taken)
}

/// Whether an address belongs to an account (deleted ones too: addresses stay taken).
pub async fn email_taken(executor: impl PgExecutor<'_>, email: &Email) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1) AS "taken!""#,
        email.as_str()
    )
    .fetch_one(executor)
    .await?)
}
