//! Report queries. Reports are soft deleted: every query skips deleted rows.

use shared::cursor::Keyset;
use sqlx::{PgConnection, PgExecutor};

use crate::{
    request::{NewReport, NoteChange, Reason, Resolution, Status, TargetType},
    response::Report,
};

/// Newest first, optionally of one status, one keyset page (plus one row).
pub async fn list(
    conn: &mut PgConnection,
    status: Option<Status>,
    page: &Keyset,
) -> Result<Vec<Report>, sqlx::Error> {
    sqlx::query_as!(
        Report,
        r#"SELECT id, reporter_id, target_type AS "target_type: TargetType", target_id,
                reason AS "reason: Reason", details, status AS "status: Status",
                resolution_note, resolved_by, resolved_at, created_at, updated_at
         FROM reports
         WHERE NOT deleted
           AND ($1::text IS NULL OR status = $1)
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC
         LIMIT $4"#,
        status.map(Status::as_str),
        page.after_time(),
        page.after_id(),
        page.fetch()
    )
    .fetch_all(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Report>, sqlx::Error> {
    sqlx::query_as!(
        Report,
        r#"SELECT id, reporter_id, target_type AS "target_type: TargetType", target_id,
                reason AS "reason: Reason", details, status AS "status: Status",
                resolution_note, resolved_by, resolved_at, created_at, updated_at
         FROM reports WHERE id = $1 AND NOT deleted"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Does the reported row exist and is it not deleted? It is share-locked until the
/// report is in, so it cannot be deleted in between. A comment whose post is deleted
/// counts as deleted.
pub async fn target_exists(
    tx: &mut PgConnection,
    target_type: TargetType,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let found =
        match target_type {
            TargetType::Post => {
                sqlx::query_scalar!(
                    r#"SELECT TRUE AS "found!" FROM posts WHERE id = $1 AND NOT deleted FOR SHARE"#,
                    id
                )
                .fetch_optional(&mut *tx)
                .await?
            }
            TargetType::Comment => {
                sqlx::query_scalar!(
                    r#"SELECT TRUE AS "found!" FROM comments c
                   JOIN posts p ON p.id = c.post_id AND p.created_at = c.post_created_at
                   WHERE c.id = $1 AND NOT c.deleted AND NOT p.deleted
                   FOR SHARE OF c, p"#,
                    id
                )
                .fetch_optional(&mut *tx)
                .await?
            }
            TargetType::Profile => sqlx::query_scalar!(
                r#"SELECT TRUE AS "found!" FROM profiles WHERE id = $1 AND NOT deleted FOR SHARE"#,
                id
            )
            .fetch_optional(&mut *tx)
            .await?,
            TargetType::Account => sqlx::query_scalar!(
                r#"SELECT TRUE AS "found!" FROM accounts WHERE id = $1 AND NOT deleted FOR SHARE"#,
                id
            )
            .fetch_optional(&mut *tx)
            .await?,
        };
    Ok(found.is_some())
}

pub async fn insert(
    tx: &mut PgConnection,
    reporter_id: i64,
    report: &NewReport,
) -> Result<Report, sqlx::Error> {
    sqlx::query_as!(
        Report,
        r#"INSERT INTO reports (reporter_id, target_type, target_id, reason, details)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, reporter_id, target_type AS "target_type: TargetType", target_id,
                reason AS "reason: Reason", details, status AS "status: Status",
                resolution_note, resolved_by, resolved_at, created_at, updated_at"#,
        reporter_id,
        report.target_type.as_str(),
        report.target_id,
        report.reason.as_str(),
        report.details.as_deref()
    )
    .fetch_one(&mut *tx)
    .await
}

/// The status of a report about to change, with the row locked. None: no such report.
pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT status FROM reports WHERE id = $1 AND NOT deleted FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Sets the status and note; `resolved_by`/`resolved_at` follow `resolution`.
pub async fn update(
    tx: &mut PgConnection,
    id: i64,
    status: Status,
    note: &NoteChange,
    resolution: Resolution,
    caller: i64,
) -> Result<Report, sqlx::Error> {
    let (note_changes, new_note) = match note {
        NoteChange::Keep => (false, None),
        NoteChange::Set(text) => (true, Some(text.as_str())),
        NoteChange::Clear => (true, None),
    };
    let (keep_resolver, resolver) = match resolution {
        Resolution::Keep => (true, None),
        Resolution::Stamp => (false, Some(caller)),
        Resolution::Clear => (false, None),
    };
    sqlx::query_as!(
        Report,
        r#"UPDATE reports SET
             status = $2,
             resolution_note = CASE WHEN $3::bool THEN $4::text ELSE resolution_note END,
             resolved_by = CASE WHEN $5::bool THEN resolved_by ELSE $6::bigint END,
             resolved_at = CASE WHEN $5::bool THEN resolved_at
                                WHEN $6::bigint IS NULL THEN NULL
                                ELSE now() END,
             updated_at = now()
         WHERE id = $1
         RETURNING id, reporter_id, target_type AS "target_type: TargetType", target_id,
                reason AS "reason: Reason", details, status AS "status: Status",
                resolution_note, resolved_by, resolved_at, created_at, updated_at"#,
        id,
        status.as_str(),
        note_changes,
        new_note,
        keep_resolver,
        resolver
    )
    .fetch_one(&mut *tx)
    .await
}

/// Marks the report deleted; false when there was none to delete.
pub async fn soft_delete(executor: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query_scalar!(
        "UPDATE reports SET deleted = TRUE, deleted_at = now(), updated_at = now()
         WHERE id = $1 AND NOT deleted
         RETURNING id",
        id
    )
    .fetch_optional(executor)
    .await?;
    Ok(deleted.is_some())
}
