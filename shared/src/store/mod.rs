//! Data access: PostgreSQL (accounts, audit log) and DynamoDB (token families).
//! Each store maps its failures to `StoreError`, and `StoreError` maps to HTTP once.

pub mod accounts;
pub mod audit;
pub mod brute_force;
pub mod families;
pub mod mfa;
pub mod two_factor;

use serde_json::json;

use crate::{db, error::ApiError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint: `field` names what is taken.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("dynamodb: {0}")]
    DynamoDb(String),
}

/// Every DynamoDB call's failure, with the SDK's full error chain in the text.
impl<E: std::error::Error + 'static, R: std::fmt::Debug>
    From<aws_sdk_dynamodb::error::SdkError<E, R>> for StoreError
{
    fn from(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self {
        StoreError::DynamoDb(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
    }
}

impl db::Unavailable for StoreError {
    fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(e) if db::is_unavailable(e))
    }
}

/// Seconds a client should wait when a store is unreachable.
const RETRY_AFTER_SECONDS: u64 = 5;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(field) => ApiError::Conflict {
                message: format!("That {field} is already taken"),
                details: Some(json!({ "field": field })),
            },
            // PostgreSQL text cannot hold U+0000 (22021 in text, 22P05 in jsonb): the
            // client sent it, so it is the client's 400, not our 500.
            StoreError::Database(e) if is_nul_in_text(&e) => {
                ApiError::validation("Text fields must not contain NUL (U+0000) characters")
            }
            StoreError::Database(e) if db::is_unavailable(&e) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::ServiceUnavailable {
                    message: "The database is temporarily unavailable".into(),
                    retry_after_seconds: RETRY_AFTER_SECONDS,
                    details: None,
                }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn is_nul_in_text(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "22021" || code == "22P05")
}

/// Handlers use `?` on queries directly; a database failure maps as `StoreError` does.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::from(error).into()
    }
}
