//! Single use and bounded attempts for MFA tokens, in the rate-limit table:
//! `pk = mfa#<jti>`, `attempts`, `used`, `expiresAt` (TTL).

use std::sync::Arc;

use aws_sdk_dynamodb::{
    Client, config::http::HttpResponse, error::SdkError, operation::update_item::UpdateItemError,
    types::AttributeValue,
};

use super::StoreError;
use crate::resilience::{
    CircuitBreaker, Guarded,
    faults::{ThroughBreaker, single_attempt},
};

/// A conditional write: `true` when it applied, `false` when its condition failed.
fn applied<T>(
    result: Result<T, Guarded<SdkError<UpdateItemError, HttpResponse>>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

pub struct MfaChallenges {
    client: Client,
    /// The instance's DynamoDB breaker, shared with the other DynamoDB stores.
    breaker: Arc<CircuitBreaker>,
    table: String,
}

impl MfaChallenges {
    pub fn new(client: Client, breaker: Arc<CircuitBreaker>, table: impl Into<String>) -> Self {
        Self {
            client,
            breaker,
            table: table.into(),
        }
    }

    fn key(jti: &str) -> (String, AttributeValue) {
        ("pk".to_owned(), AttributeValue::S(format!("mfa#{jti}")))
    }

    /// Counts an attempt; false when the token was used or has no attempts left.
    pub async fn attempt(
        &self,
        jti: &str,
        max_attempts: u32,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let (k, v) = Self::key(jti);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("ADD attempts :one SET expiresAt = :exp")
            .condition_expression("attribute_not_exists(used) AND (attribute_not_exists(attempts) OR attempts < :max)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max_attempts.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
            // Not repeatable once applied: one attempt.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await;
        applied(result)
    }

    /// Marks the token used; true for exactly one caller.
    pub async fn consume(&self, jti: &str) -> Result<bool, StoreError> {
        let (k, v) = Self::key(jti);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("SET used = :true")
            .condition_expression("attribute_not_exists(used)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            // Not repeatable once applied: one attempt.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await;
        applied(result)
    }
}
