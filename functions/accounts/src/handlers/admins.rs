//! At least one admin, always: the guard of every role change and deletion.
//!
//! Each such transaction first locks every live admin's row in id order
//! (`accounts::lock_admins`), so two of them queue there and the second sees what the
//! first did: two admins demoting or deleting each other at the same instant leave one.

use shared::{ApiError, store::accounts};
use sqlx::PgConnection;

/// Locks the admins; an actor no longer among them (demoted or deleted since its
/// token was issued) is refused like a revoked token. Answers the admins' ids.
pub async fn lock_as_actor(tx: &mut PgConnection, actor: i64) -> Result<Vec<i64>, ApiError> {
    let admins = accounts::lock_admins(&mut *tx).await?;
    if admins.contains(&actor) {
        Ok(admins)
    } else {
        Err(ApiError::INVALID_TOKEN)
    }
}

/// 409 when removing `leaving` would leave no admin.
pub fn keep_one(admins: &[i64], leaving: i64) -> Result<(), ApiError> {
    if admins.iter().any(|admin| *admin != leaving) || !admins.contains(&leaving) {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            message: "This is the last admin: promote another account to admin first".into(),
            details: Some(serde_json::json!({ "reason": "last_admin" })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_admin_cannot_leave() {
        assert!(keep_one(&[7], 7).is_err());
        assert!(keep_one(&[7, 8], 7).is_ok());
        assert!(keep_one(&[8], 7).is_ok(), "not an admin: nothing to keep");
        assert!(keep_one(&[], 7).is_ok());
    }
}
