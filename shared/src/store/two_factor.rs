//! Two-factor state of an account: the sealed TOTP secret, the last accepted time
//! step, backup codes.

use sqlx::{PgConnection, PgExecutor};

use super::StoreError;

/// The sealed secret and whether 2FA is on.
pub async fn secret(
    executor: impl PgExecutor<'_>,
    account_id: i64,
) -> Result<Option<(Vec<u8>, bool)>, StoreError> {
    let row = sqlx::query!(
        "SELECT two_factor_secret, two_factor_enabled FROM accounts WHERE id = $1 AND NOT deleted",
        account_id
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.and_then(|row| {
        row.two_factor_secret
            .map(|secret| (secret, row.two_factor_enabled))
    }))
}

/// Stores a new, not yet enabled secret. False when 2FA is already on.
pub async fn set_pending(
    executor: impl PgExecutor<'_>,
    account_id: i64,
    sealed: &[u8],
) -> Result<bool, StoreError> {
    let result = sqlx::query!(
"UPDATE accounts SET two_factor_secret = $2, two_factor_last_step = NULL, updated_at = now()
         WHERE id = $1 AND NOT two_factor_enabled AND NOT deleted",
account_id,
sealed
)
    .execute(executor)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Accepts a TOTP time step once: false when this or a later step was already used.
pub async fn accept_step(
    executor: impl PgExecutor<'_>,
    account_id: i64,
    step: u64,
) -> Result<bool, StoreError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let result = sqlx::query!(
        "UPDATE accounts SET two_factor_last_step = $2
         WHERE id = $1 AND (two_factor_last_step IS NULL OR two_factor_last_step < $2)",
        account_id,
        step
    )
    .execute(executor)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Turns 2FA on with fresh backup codes (hashes), replacing any old ones, in the
/// caller's transaction (which also records the event).
pub async fn enable(
    tx: &mut PgConnection,
    account_id: i64,
    code_hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE accounts SET two_factor_enabled = TRUE, updated_at = now() WHERE id = $1",
        account_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM backup_codes WHERE account_id = $1", account_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO backup_codes (account_id, code_hash) SELECT $1, unnest($2::text[])",
        account_id,
        code_hashes
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn disable(tx: &mut PgConnection, account_id: i64) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE accounts SET two_factor_enabled = FALSE, two_factor_secret = NULL,
                two_factor_last_step = NULL, updated_at = now() WHERE id = $1",
        account_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM backup_codes WHERE account_id = $1", account_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Uses a backup code: true exactly once per code.
pub async fn use_backup_code(
    executor: impl PgExecutor<'_>,
    account_id: i64,
    code_hash: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query!(
        "UPDATE backup_codes SET used_at = now()
         WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
        account_id,
        code_hash
    )
    .execute(executor)
    .await?;
    Ok(result.rows_affected() == 1)
}
