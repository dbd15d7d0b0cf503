//! Single use and bounded attempts for MFA tokens, in the rate-limit table:
//! `pk = mfa#<jti>`, `attempts`, `used`, `expiresAt` (TTL).

use aws_sdk_dynamodb::{Client, operation::update_item::UpdateItemError, types::AttributeValue};

use super::StoreError;

/// A conditional write: `true` when it applied, `false` when its condition failed.
fn applied<T, R: std::fmt::Debug>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>>,
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
    table: String,
}

impl MfaChallenges {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
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
            .send()
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
            .send()
            .await;
        applied(result)
    }
}
