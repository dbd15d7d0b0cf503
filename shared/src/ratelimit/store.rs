//! The counters: `pk = <tier>#<key>#<window index>`, `count`, `expiresAt` (TTL),
//! `audited` (set once, when the first over-limit request of the window is logged).

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue},
};

use super::Tier;
use crate::{
    config::{RateLimitConfig, TierLimit},
    resilience::{
        CircuitBreaker,
        faults::{ThroughBreaker, single_attempt},
    },
};

/// What one tier said about one request.
#[derive(Debug, Clone)]
pub struct Decision {
    pub tier: Tier,
    pub limit: TierLimit,
    pub allowed: bool,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_after: u64,
    pk: String,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Decided(Decision),
    /// DynamoDB failed or the breaker is open: the tier's fail mode applies.
    Unavailable(Tier),
}

pub struct RateLimiter {
    client: Client,
    table: String,
    pub config: RateLimitConfig,
    /// The instance's DynamoDB breaker, shared with the other DynamoDB stores.
    breaker: Arc<CircuitBreaker>,
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk.to_owned()))])
}

impl RateLimiter {
    pub fn new(
        client: Client,
        breaker: Arc<CircuitBreaker>,
        table: impl Into<String>,
        config: RateLimitConfig,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            config,
            breaker,
        }
    }

    /// Counts one request against `tier` for `subject`, unless the window is full:
    /// `ADD count 1` only if `count < max` — one atomic conditional write.
    pub async fn hit(&self, tier: Tier, limit: TierLimit, subject: &str, now: i64) -> Outcome {
        let window = i64::try_from(limit.window.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        let index = now.div_euclid(window);
        let reset_after = u64::try_from((index + 1) * window - now).unwrap_or(0);
        let pk = format!("{}#{subject}#{index}", tier.key_prefix());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&pk)))
            .update_expression("ADD #count :one SET expiresAt = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(limit.max.to_string()))
            // Kept a window past its end, so a clock-skewed instance still finds it.
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(((index + 2) * window).to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            // A repeated ADD would count the request twice.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await;
        let decision = |allowed: bool, count: u32| Decision {
            tier,
            limit,
            allowed,
            remaining: limit.max.saturating_sub(count),
            reset_after,
            pk: pk.clone(),
        };
        match result {
            Ok(output) => {
                let count = output
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get("count"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(limit.max);
                Outcome::Decided(decision(true, count))
            }
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Outcome::Decided(decision(false, limit.max))
            }
            Err(error) => {
                tracing::warn!(tier = tier.name(), error = %aws_sdk_dynamodb::error::DisplayErrorContext(&error), "rate limit store unavailable");
                Outcome::Unavailable(tier)
            }
        }
    }

    /// Gives a counted unit back (a successful auth request).
    pub async fn refund(&self, decision: &Decision) {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&decision.pk)))
            .update_expression("ADD #count :minus")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await;
        if let Err(error) = result
            && !matches!(
                error.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            )
        {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&error), "rate limit refund failed");
        }
    }

    /// True for the first over-limit request of the key's window (so it is audited once).
    pub async fn first_rejection(&self, decision: &Decision) -> bool {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&decision.pk)))
            .update_expression("SET audited = :true")
            .condition_expression("attribute_not_exists(audited)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .through(&self.breaker)
            .await
            .is_ok()
    }
}

/// Seconds a client should wait when a fail-closed tier cannot be decided.
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);
