//! Comment queries. A comment belongs to a post that is not deleted: every read and
//! write joins or checks the post, so a deleted post's comments are gone with it.

use shared::{cursor::Keyset, domain::content::SafeHtml};
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::response::Comment;

/// Is there a post with this id that is not deleted (for the reader's list)?
pub async fn post_exists(conn: &mut PgConnection, post_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM posts WHERE id = $1 AND NOT deleted) AS "exists!""#,
        post_id
    )
    .fetch_one(conn)
    .await
}

/// A post's comments, newest first, one keyset page (plus one row to see if more follow).
pub async fn list(
    conn: &mut PgConnection,
    post_id: i64,
    page: &Keyset,
) -> Result<Vec<Comment>, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        "SELECT id, post_id, account_id, body, created_at, updated_at FROM comments
         WHERE post_id = $1 AND NOT deleted
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC
         LIMIT $4",
        post_id,
        page.after_time(),
        page.after_id(),
        page.fetch()
    )
    .fetch_all(conn)
    .await
}

/// The post's partition key, with the post share-locked so it cannot be deleted
/// while a comment is added to it. None: no such post, or deleted.
pub async fn lock_post(
    tx: &mut PgConnection,
    post_id: i64,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT created_at FROM posts WHERE id = $1 AND NOT deleted FOR SHARE",
        post_id
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Whether the author's account still exists, key-share-locked: an account deletion
/// (which locks the row FOR UPDATE before its cascade) then either sees this comment
/// or finishes first and this finds the account gone. Other account updates (login
/// counters) are not blocked.
pub async fn lock_author(tx: &mut PgConnection, account_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT TRUE AS "found!" FROM accounts WHERE id = $1 AND NOT deleted FOR KEY SHARE"#,
        account_id
    )
    .fetch_optional(&mut *tx)
    .await
    .map(|found| found.is_some())
}

/// A comment about to be changed: locked, and its post share-locked. None when
/// either is deleted (a comment on a deleted post is gone too).
pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT c.account_id FROM comments c
         JOIN posts p ON p.id = c.post_id AND p.created_at = c.post_created_at
         WHERE c.id = $1 AND NOT c.deleted AND NOT p.deleted
         FOR UPDATE OF c FOR SHARE OF p",
        id
    )
    .fetch_optional(&mut *tx)
    .await
}

pub async fn insert(
    tx: &mut PgConnection,
    post_id: i64,
    post_created_at: OffsetDateTime,
    account_id: i64,
    body: &SafeHtml,
) -> Result<Comment, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        "INSERT INTO comments (post_id, post_created_at, account_id, body)
         VALUES ($1, $2, $3, $4)
         RETURNING id, post_id, account_id, body, created_at, updated_at",
        post_id,
        post_created_at,
        account_id,
        body.as_str()
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn update(
    tx: &mut PgConnection,
    id: i64,
    body: &SafeHtml,
) -> Result<Comment, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        "UPDATE comments SET body = $2, updated_at = now() WHERE id = $1
         RETURNING id, post_id, account_id, body, created_at, updated_at",
        id,
        body.as_str()
    )
    .fetch_one(&mut *tx)
    .await
}

pub async fn soft_delete(tx: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE comments SET deleted = TRUE, deleted_at = now(), updated_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
