//! Data access: PostgreSQL (accounts, audit log) and DynamoDB (token families).
//! Each store maps its failures to `StoreError`, and `StoreError` maps to HTTP once.

pub mod account_state;
pub mod accounts;
pub mod audit;
pub mod brute_force;
pub mod families;
pub mod mfa;
pub mod request_state;
pub mod two_factor;

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
};
use serde_json::json;

use crate::{
    db,
    error::ApiError,
    resilience::{Guarded, faults::is_aws_fault},
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint: `field` names what is taken.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// `unavailable`: DynamoDB timed out, was unreachable, failed or throttled.
    #[error("dynamodb: {message}")]
    DynamoDb { message: String, unavailable: bool },
    /// The dependency's circuit breaker is open: the call was not made.
    #[error("the {0} circuit breaker is open")]
    BreakerOpen(&'static str),
}

/// Every DynamoDB call's failure, with the SDK's full error chain in the text.
impl<E> From<SdkError<E, HttpResponse>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(error: SdkError<E, HttpResponse>) -> Self {
        StoreError::DynamoDb {
            unavailable: is_aws_fault(&error),
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

/// A call made through a breaker: as the call's own error, or "open".
impl<E> From<Guarded<E>> for StoreError
where
    StoreError: From<E>,
{
    fn from(error: Guarded<E>) -> Self {
        match error {
            Guarded::Open(dependency) => StoreError::BreakerOpen(dependency),
            Guarded::Failed(error) => error.into(),
        }
    }
}

impl db::Unavailable for StoreError {
    fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => db::is_unavailable(e),
            StoreError::DynamoDb { unavailable, .. } => *unavailable,
            StoreError::BreakerOpen(_) => true,
            StoreError::Conflict(_) => false,
        }
    }

    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Database(e) if db::is_transient(e))
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
            StoreError::Database(e) if db::is_write_conflict(&e) => ApiError::TransactionAborted(e),
            // PostgreSQL text cannot hold U+0000 (22021 in text, 22P05 in jsonb): the
            // client sent it, so it is the client's 400, not our 500.
            StoreError::Database(e) if is_nul_in_text(&e) => {
                ApiError::validation("Text fields must not contain NUL (U+0000) characters")
            }
            other if db::Unavailable::is_unavailable(&other) => {
                tracing::error!(error = %other, "dependency unavailable");
                ApiError::ServiceUnavailable {
                    message: "The service is temporarily unavailable".into(),
                    retry_after_seconds: RETRY_AFTER_SECONDS,
                    details: None,
                }
            }
            other => ApiError::internal(other),
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

/// And on [`db::Db::writer`] / [`db::Db::begin`]: an open breaker is a prompt 503.
impl From<Guarded<sqlx::Error>> for ApiError {
    fn from(error: Guarded<sqlx::Error>) -> Self {
        StoreError::from(error).into()
    }
}
