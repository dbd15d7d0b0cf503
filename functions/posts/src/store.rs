//! Post queries. A post comes back with its authors in the same statement (JSON
//! aggregation), so a page of posts is one query, never one per post.

use shared::cursor::Keyset;
use sqlx::{PgConnection, types::Json};
use time::OffsetDateTime;

use crate::{
    request::{Content, NewPost},
    response::{Author, PostContent},
};

/// The post columns and its authors (primary first), for `FROM posts p`.
macro_rules! select_post {
    () => {
        "SELECT p.id, p.account_id, p.post_type_id, p.content, p.created_at, p.updated_at,
                COALESCE((SELECT json_agg(json_build_object(
                                 'profileId', a.profile_id, 'name', pr.name, 'isPrimary', a.is_primary)
                                 ORDER BY a.is_primary DESC, a.profile_id)
                          FROM authors a JOIN profiles pr ON pr.id = a.profile_id
                          WHERE a.post_id = p.id AND a.post_created_at = p.created_at),
                         '[]'::json) AS authors
         FROM posts p "
    };
}

#[derive(Debug, sqlx::FromRow)]
pub struct PostRow {
    pub id: i64,
    pub account_id: i64,
    pub post_type_id: i16,
    pub content: Json<PostContent>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub authors: Json<Vec<Author>>,
}

#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub account_id: Option<i64>,
    pub post_type_id: Option<i16>,
    /// Words searched in title and body (GIN-indexed full-text search).
    pub search: Option<String>,
}

/// A page of posts, newest first: $1 account, $2 post type, $3 search words (each may
/// be NULL), $4/$5 the keyset position (NULL for the first page), $6 rows to fetch.
/// Public so the benchmarks run the very same statement through pgbench.
pub const LIST_SQL: &str = concat!(
        select_post!(),
        "WHERE NOT p.deleted
           AND ($1::bigint IS NULL OR p.account_id = $1)
           AND ($2::smallint IS NULL OR p.post_type_id = $2)
           AND ($3::text IS NULL OR to_tsvector('simple', coalesce(p.content ->> 'title', '') || ' ' || coalesce(p.content ->> 'body', ''))
                                    @@ plainto_tsquery('simple', $3))
           AND ($4::timestamptz IS NULL OR (p.created_at, p.id) < ($4, $5))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT $6"
    );

pub async fn list(
    conn: &mut PgConnection,
    filters: &Filters,
    page: &Keyset,
) -> Result<Vec<PostRow>, sqlx::Error> {
    sqlx::query_as(LIST_SQL)
        .bind(filters.account_id)
        .bind(filters.post_type_id)
        .bind(filters.search.as_deref())
        .bind(page.after_time())
        .bind(page.after_id())
        .bind(page.fetch())
        .fetch_all(conn)
        .await
}

pub async fn find(
    executor: impl sqlx::PgExecutor<'_>,
    id: i64,
) -> Result<Option<PostRow>, sqlx::Error> {
    sqlx::query_as(concat!(select_post!(), "WHERE p.id = $1 AND NOT p.deleted"))
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// What a write needs to know about a post before changing it, row-locked.
#[derive(Debug)]
pub struct Locked {
    pub account_id: i64,
    pub created_at: OffsetDateTime,
    pub post_type_id: i16,
    pub content: Json<PostContent>,
}

pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<Option<Locked>, sqlx::Error> {
    sqlx::query_as!(
        Locked,
        r#"SELECT account_id, created_at, post_type_id, content AS "content: Json<PostContent>"
         FROM posts WHERE id = $1 AND NOT deleted FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Owner of a profile that is not deleted, locked against deletion while it is used.
pub async fn profile_owner(
    tx: &mut PgConnection,
    profile_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT account_id FROM profiles WHERE id = $1 AND NOT deleted FOR SHARE",
        profile_id
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Of these profile ids, the ones that are not live profiles of `account_id`; the
/// others are locked against deletion while the post is written. Co-authors are the
/// caller's own profiles only: naming someone else's would put words in their mouth.
pub async fn foreign_profiles(
    tx: &mut PgConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        "SELECT id FROM profiles WHERE id = ANY($1) AND account_id = $2 AND NOT deleted FOR SHARE",
        ids,
        account_id
    )
    .fetch_all(&mut *tx)
    .await
    .map(|own| ids.iter().copied().filter(|id| !own.contains(id)).collect())
}

/// Inserts the post and its authors; returns the new row as the writer has it.
pub async fn insert(
    tx: &mut PgConnection,
    account_id: i64,
    post: &NewPost,
) -> Result<PostRow, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO posts (account_id, post_type_id, content) VALUES ($1, $2, $3)
         RETURNING id, created_at",
        account_id,
        post.post_type_id,
        Json(post.content.stored()) as _
    )
    .fetch_one(&mut *tx)
    .await?;
    let (id, created_at) = (inserted.id, inserted.created_at);
    let profiles: Vec<i64> = std::iter::once(post.profile_id)
        .chain(post.co_authors.iter().copied())
        .collect();
    let primary: Vec<bool> = profiles.iter().map(|p| *p == post.profile_id).collect();
    sqlx::query!(
        "INSERT INTO authors (post_id, post_created_at, profile_id, is_primary)
         SELECT $1, $2, profile_id, is_primary FROM unnest($3::bigint[], $4::bool[]) AS t (profile_id, is_primary)",
        id,
        created_at,
        &profiles,
        &primary
    )
    .execute(&mut *tx)
    .await?;
    find(&mut *tx, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update(
    tx: &mut PgConnection,
    id: i64,
    created_at: OffsetDateTime,
    content: &Content,
    post_type_id: i16,
) -> Result<PostRow, sqlx::Error> {
    sqlx::query!(
        "UPDATE posts SET content = $3, post_type_id = $4, updated_at = now()
         WHERE id = $1 AND created_at = $2",
        id,
        created_at,
        Json(content.stored()) as _,
        post_type_id
    )
    .execute(&mut *tx)
    .await?;
    find(&mut *tx, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn soft_delete(
    tx: &mut PgConnection,
    id: i64,
    created_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE posts SET deleted = TRUE, deleted_at = now(), updated_at = now()
         WHERE id = $1 AND created_at = $2",
        id,
        created_at
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
