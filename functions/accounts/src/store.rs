//! The accounts function's own SQL: the cascade of an account deletion. Queries on the
//! accounts table itself live in `shared::store::accounts`, beside the `Account` row
//! they return.

use sqlx::PgConnection;

/// How many rows one deletion soft-deleted, for the audit event.
#[derive(Debug, Clone, Copy)]
pub struct Cascade {
    pub profiles: i64,
    pub posts: i64,
    pub comments: i64,
}

/// Row-locks the account's live profiles. Post creation share-locks its author
/// profile, so this waits for posts being written right now to commit; run before
/// [`soft_delete_cascade`], whose statement snapshot then includes those posts (under
/// READ COMMITTED each statement sees what committed before it started).
pub async fn lock_profiles(tx: &mut PgConnection, account_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT id FROM profiles WHERE account_id = $1 AND NOT deleted FOR UPDATE",
        account_id
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(())
}

/// Soft-deletes the account and everything it wrote, in one statement of the caller's
/// transaction, which already holds the account row lock (profile creation share-locks
/// it, so none can be added meanwhile) and the profile locks ([`lock_profiles`]).
/// Data-modifying CTEs all run to completion, on one snapshot.
pub async fn soft_delete_cascade(
    tx: &mut PgConnection,
    account_id: i64,
) -> Result<Cascade, sqlx::Error> {
    sqlx::query_as!(
        Cascade,
        r#"WITH account AS (
             UPDATE accounts SET deleted = TRUE, deleted_at = now(), updated_at = now()
             WHERE id = $1 AND NOT deleted RETURNING id
         ), profiles AS (
             UPDATE profiles SET deleted = TRUE, deleted_at = now(), updated_at = now()
             WHERE account_id = $1 AND NOT deleted RETURNING id
         ), posts AS (
             UPDATE posts SET deleted = TRUE, deleted_at = now(), updated_at = now()
             WHERE account_id = $1 AND NOT deleted RETURNING id
         ), comments AS (
             UPDATE comments SET deleted = TRUE, deleted_at = now(), updated_at = now()
             WHERE account_id = $1 AND NOT deleted RETURNING id
         )
         SELECT (SELECT count(*) FROM profiles) AS "profiles!",
                (SELECT count(*) FROM posts) AS "posts!",
                (SELECT count(*) FROM comments) AS "comments!""#,
        account_id
    )
    .fetch_one(&mut *tx)
    .await
}
