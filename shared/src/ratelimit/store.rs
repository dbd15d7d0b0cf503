//! The counters: `pk = <tier>#<key>#<window index>`, `count`, `expiresAt` (TTL),
//! `audited` (set once, when the first over-limit request of the window is logged).
//! Units are reserved in leases (`leases.rs`): most requests of a steady client spend
//! a leased unit and make no call at all.
//!
//! A throttled key (ProvisionedThroughputExceeded / Throttling on its item: one
//! flooding client makes its partition hot) is that key's problem: it is refused
//! locally for the rest of its window, and the throttling does not count against the
//! DynamoDB breaker, so other clients keep being limited normally instead of every
//! public tier failing open.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue},
};

use super::{
    Tier,
    config::{RateLimitConfig, TierLimit},
    leases::{Leases, Local},
};
use crate::{
    metrics,
    resilience::{
        CircuitBreaker,
        faults::{ThroughBreaker, is_aws_fault, is_throttling, single_attempt},
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
    /// `<tier>#<subject>`: the lease's key.
    key: String,
    window: i64,
}

impl Decision {
    /// The counter's key (tier, subject and window).
    pub fn pk(&self) -> String {
        format!("{}#{}", self.key, self.window)
    }
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
    leases: Leases,
}

/// Why a reservation was not granted.
enum Refused {
    /// The window has no room for the units asked.
    Full,
    /// DynamoDB throttled the key's item.
    Throttled,
    /// DynamoDB failed, or the breaker is open.
    Unavailable(String),
}

fn item_key(pk: &str) -> HashMap<String, AttributeValue> {
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
            leases: Leases::new(config.lease_divisor),
            config,
            breaker,
        }
    }

    /// Counts one request against `tier` for `subject`, unless the window is full: a
    /// leased unit if the instance holds one, else a reservation of one or more units
    /// (one atomic conditional write).
    pub async fn hit(&self, tier: Tier, limit: TierLimit, subject: &str, now: i64) -> Outcome {
        let window = i64::try_from(limit.window.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        let index = now.div_euclid(window);
        let reset_after = u64::try_from((index + 1) * window - now).unwrap_or(0);
        let key = format!("{}#{subject}", tier.key_prefix());
        let decision = |allowed: bool, remaining: u32| {
            Outcome::Decided(Decision {
                tier,
                limit,
                allowed,
                remaining,
                reset_after,
                key: key.clone(),
                window: index,
            })
        };
        let units = match self.leases.take(&key, index, limit.max) {
            Local::Spent { remaining } => return decision(true, remaining),
            Local::Denied => return decision(false, 0),
            Local::Reserve { units } => units,
        };
        let expires = (index + 2) * window;
        let mut result = self.reserve(&key, index, units, limit.max, expires).await;
        // Others took the room a bigger lease needed: the one unit this request needs.
        if units > 1 && matches!(result, Err(Refused::Full)) {
            result = self.reserve(&key, index, 1, limit.max, expires).await;
        }
        match result {
            Ok((granted, count)) => {
                let remaining = self.leases.granted(&key, index, granted, count, limit.max);
                decision(true, remaining)
            }
            Err(Refused::Full) => {
                self.leases.deny(&key, index);
                decision(false, 0)
            }
            Err(Refused::Throttled) => {
                tracing::warn!(
                    tier = tier.name(),
                    "rate limit key throttled; refused locally for its window"
                );
                metrics::count("RateLimitKeyThrottled", &[("Tier", tier.name())]);
                self.leases.deny(&key, index);
                decision(false, 0)
            }
            Err(Refused::Unavailable(error)) => {
                tracing::warn!(tier = tier.name(), error, "rate limit store unavailable");
                Outcome::Unavailable(tier)
            }
        }
    }

    /// `ADD count units` if `count + units <= max`; the units granted and the count.
    async fn reserve(
        &self,
        key: &str,
        window: i64,
        units: u32,
        max: u32,
        expires: i64,
    ) -> Result<(u32, u32), Refused> {
        let call = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(&format!("{key}#{window}"))))
            .update_expression("ADD #count :units SET expiresAt = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count <= :room")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":units", AttributeValue::N(units.to_string()))
            .expression_attribute_values(
                ":room",
                AttributeValue::N(max.saturating_sub(units).to_string()),
            )
            // Kept a window past its end, so a clock-skewed instance still finds it.
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            // A repeated ADD would count the units twice.
            .customize()
            .config_override(single_attempt())
            .send();
        // Throttling on one key is an answer about that key, not the table failing.
        let result = self
            .breaker
            .guard(call, |error| is_aws_fault(error) && !is_throttling(error))
            .await;
        match result {
            Ok(output) => {
                let count = output
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get("count"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(max);
                Ok((units, count))
            }
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(Refused::Full)
            }
            Err(crate::resilience::Guarded::Failed(error)) if is_throttling(&error) => {
                Err(Refused::Throttled)
            }
            Err(error) => Err(Refused::Unavailable(format!("{error}"))),
        }
    }

    /// Gives a counted unit back (a successful auth request): into the lease when the
    /// instance holds one, else to DynamoDB.
    pub async fn refund(&self, decision: &Decision) {
        if self.leases.give_back(&decision.key, decision.window) {
            return;
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(&decision.pk())))
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

    /// True for the first over-limit request of the key's window (so it is audited once
    /// across instances; each instance asks at most once per key and window).
    pub async fn first_rejection(&self, decision: &Decision) -> bool {
        if !self.leases.first_report(&decision.key, decision.window) {
            return false;
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(&decision.pk())))
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
