//! Profile queries. Deleted profiles are never returned: to every route they are 404.

use shared::cursor::Keyset;
use sqlx::{PgConnection, PgExecutor};

use crate::{
    request::{NewProfile, ProfileChange},
    response::Profile,
};

/// Newest first, optionally one account's; one keyset page plus one row.
pub async fn list(
    conn: &mut PgConnection,
    account_id: Option<i64>,
    page: &Keyset,
) -> Result<Vec<Profile>, sqlx::Error> {
    sqlx::query_as!(
        Profile,
        "SELECT id, account_id, name, details, created_at, updated_at FROM profiles
         WHERE NOT deleted
           AND ($1::bigint IS NULL OR account_id = $1)
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC
         LIMIT $4",
        account_id,
        page.after_time(),
        page.after_id(),
        page.fetch()
    )
    .fetch_all(conn)
    .await
}

pub async fn find(executor: impl PgExecutor<'_>, id: i64) -> Result<Option<Profile>, sqlx::Error> {
    sqlx::query_as!(
        Profile,
        "SELECT id, account_id, name, details, created_at, updated_at FROM profiles
         WHERE id = $1 AND NOT deleted",
        id
    )
    .fetch_optional(executor)
    .await
}

/// The owner of a profile that is not deleted, row-locked for the write that follows.
pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT account_id FROM profiles WHERE id = $1 AND NOT deleted FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await
}

/// True when the account exists and is not deleted, share-locked: an account deletion
/// (which locks the row for update) then either waits for this transaction or has
/// already committed, so its cascade never misses a profile created meanwhile.
pub async fn lock_live_account(
    tx: &mut PgConnection,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT 1 AS "found!" FROM accounts WHERE id = $1 AND NOT deleted FOR SHARE"#,
        account_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.is_some())
}

pub async fn insert(
    tx: &mut PgConnection,
    account_id: i64,
    profile: &NewProfile,
) -> Result<Profile, sqlx::Error> {
    sqlx::query_as!(
        Profile,
        "INSERT INTO profiles (account_id, name, details) VALUES ($1, $2, $3)
         RETURNING id, account_id, name, details, created_at, updated_at",
        account_id,
        profile.name.as_str(),
        profile.details.as_json()
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn update(
    tx: &mut PgConnection,
    id: i64,
    change: &ProfileChange,
) -> Result<Profile, sqlx::Error> {
    sqlx::query_as!(
        Profile,
        "UPDATE profiles SET name = COALESCE($2, name), details = COALESCE($3, details),
                updated_at = now()
         WHERE id = $1
         RETURNING id, account_id, name, details, created_at, updated_at",
        id,
        change.name.as_ref().map(|n| n.as_str()),
        change.details.as_ref().map(|d| d.as_json())
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn soft_delete(tx: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE profiles SET deleted = TRUE, deleted_at = now(), updated_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
