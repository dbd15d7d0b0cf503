//! System settings queries (the `system_settings` table; deletes are real deletes:
//! a setting that is gone falls back to its default in the code that reads it).

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};

use super::request::Key;
use crate::response::Setting;

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Setting>, sqlx::Error> {
    sqlx::query_as!(
        Setting,
        "SELECT key, value, updated_by, updated_at FROM system_settings ORDER BY key"
    )
    .fetch_all(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, key: &Key) -> Result<Option<Setting>, sqlx::Error> {
    sqlx::query_as!(
        Setting,
        "SELECT key, value, updated_by, updated_at FROM system_settings WHERE key = $1",
        key.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// Does the setting exist? Its row, if any, stays locked until the transaction ends.
pub async fn lock(tx: &mut PgConnection, key: &Key) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT TRUE AS "found!" FROM system_settings WHERE key = $1 FOR UPDATE"#,
        key.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.is_some())
}

/// Inserts or replaces the value (a concurrent first insert of the same key becomes
/// an update rather than a unique violation).
pub async fn upsert(
    tx: &mut PgConnection,
    key: &Key,
    value: &Value,
    updated_by: i64,
) -> Result<Setting, sqlx::Error> {
    sqlx::query_as!(
        Setting,
        "INSERT INTO system_settings (key, value, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE
             SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING key, value, updated_by, updated_at",
        key.as_str(),
        value,
        updated_by
    )
    .fetch_one(&mut *tx)
    .await
}

/// Removes the setting; false when there was none.
pub async fn delete(executor: impl PgExecutor<'_>, key: &Key) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query_scalar!(
        "DELETE FROM system_settings WHERE key = $1 RETURNING key",
        key.as_str()
    )
    .fetch_optional(executor)
    .await?;
    Ok(deleted.is_some())
}
