//! `GET /api/admin/system/config` (every setting in force, with its source, credentials
//! redacted) and `GET /api/admin/migrations` (applied and pending schema migrations).

use std::{collections::BTreeMap, fmt::Write, sync::Arc};

use axum::{Json, extract::State};
use shared::{ApiError, AppState, auth::caller::AdminOnly, config, openapi::Errors};

use crate::response::{AppliedMigration, Migrations, PendingMigration, SystemConfig};

/// `{function, settings: [{name, value, source, default, redacted}]}` as this function
/// sees its environment (every function gets the same one from the template's
/// Globals). Secret values are never shown and URLs lose their passwords
/// (`shared::config::settings`).
#[utoipa::path(get, path = "/api/admin/system/config", tag = "admin", operation_id = "systemConfig",
    summary = "Every setting in force with its source; secrets and URL passwords redacted (admin)",
    responses((status = 200, description = "The settings, sorted by name", body = SystemConfig), Errors))]
pub async fn config(_admin: AdminOnly) -> Result<Json<SystemConfig>, ApiError> {
    let settings = config::settings(&|var| std::env::var(var).ok()).map_err(ApiError::internal)?;
    Ok(Json(SystemConfig {
        function: shared::metrics::function_name().to_owned(),
        settings,
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `{applied: [...], pending: [...], upToDate}`: each applied migration from
/// `_sqlx_migrations` on the writer (version, description, when, how long, its
/// checksum and whether that still matches the embedded file), then the migrations
/// embedded in this build (`shared::MIGRATOR`) not applied yet. `upToDate` is true
/// when nothing is pending, failed or changed since it was applied.
#[utoipa::path(get, path = "/api/admin/migrations", tag = "admin", operation_id = "migrations",
    summary = "Applied schema migrations with checksums and times, and pending ones (admin)",
    responses((status = 200, description = "Applied (from _sqlx_migrations on the writer) and pending (embedded in this build, not applied)", body = Migrations), Errors))]
pub async fn migrations(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
) -> Result<Json<Migrations>, ApiError> {
    let rows = sqlx::query!(
        "SELECT version, description, installed_on, success, checksum, execution_time
         FROM _sqlx_migrations ORDER BY version"
    )
    .fetch_all(state.db.writer_pool())
    .await?;
    let embedded: BTreeMap<i64, &sqlx::migrate::Migration> = shared::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| (m.version, m))
        .collect();
    let pending: Vec<PendingMigration> = embedded
        .values()
        .filter(|m| !rows.iter().any(|row| row.version == m.version))
        .map(|m| PendingMigration {
            version: m.version,
            description: m.description.to_string(),
            checksum: hex(&m.checksum),
        })
        .collect();
    let mut up_to_date = pending.is_empty();
    let applied = rows
        .into_iter()
        .map(|row| {
            // null: applied by another build, unknown to this one.
            let matches = embedded
                .get(&row.version)
                .map(|m| m.checksum.as_ref() == row.checksum.as_slice());
            up_to_date &= row.success && matches == Some(true);
            AppliedMigration {
                version: row.version,
                description: row.description,
                installed_on: row.installed_on,
                success: row.success,
                // sqlx stores the time in nanoseconds.
                execution_time_ms: (row.execution_time as f64 / 10_000.0).round() / 100.0,
                checksum: hex(&row.checksum),
                checksum_matches: matches,
            }
        })
        .collect();
    Ok(Json(Migrations {
        applied,
        pending,
        up_to_date,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn checksums_are_lowercase_hex() {
        assert_eq!(super::hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
