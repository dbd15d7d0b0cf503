//! Brute-force state in the rate-limit table (all items expire by TTL):
//! `block#<ip>` (an IP block: `blockedUntilMs`, `offence`), `offences#<ip>#<window>`
//! (offences in the current offence window), `login-failures#<login>` (failed logins
//! for one login name, whether or not such an account exists). Times of blocks and
//! backoffs are in milliseconds: waits of a second or two must not end early.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, ReturnValue},
};

use super::StoreError;
use crate::resilience::{
    CircuitBreaker,
    faults::{ThroughBreaker, single_attempt},
};

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub ip: String,
    /// Unix milliseconds.
    pub blocked_until_ms: i64,
    pub offence: u32,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Whole seconds to wait until `until_ms`, rounded up (for Retry-After).
pub fn seconds_until(until_ms: i64, now_ms: i64) -> u64 {
    u64::try_from((until_ms - now_ms + 999) / 1000).unwrap_or(0)
}

/// Seconds to wait after `failures` failed logins (2^(failures - after), capped), or
/// none while failures are below the threshold.
pub fn backoff_seconds(failures: u32, after: u32, max: Duration) -> Option<u64> {
    let over = failures.checked_sub(after)?;
    Some(
        2_u64
            .checked_pow(over)
            .unwrap_or(u64::MAX)
            .min(max.as_secs()),
    )
}

pub struct BruteForce {
    client: Client,
    /// The instance's DynamoDB breaker, shared with the other DynamoDB stores.
    breaker: Arc<CircuitBreaker>,
    table: String,
}

impl BruteForce {
    pub fn new(client: Client, breaker: Arc<CircuitBreaker>, table: impl Into<String>) -> Self {
        Self {
            client,
            breaker,
            table: table.into(),
        }
    }

    fn key(pk: String) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".to_owned(), AttributeValue::S(pk))])
    }

    /// Records an offence and blocks the IP for the ladder's step for it.
    pub async fn block(
        &self,
        ip: &str,
        now_ms: i64,
        ladder: &[Duration],
        offence_window: Duration,
    ) -> Result<Block, StoreError> {
        let now = now_ms / 1000;
        let window = secs(offence_window).max(1);
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!(
                "offences#{ip}#{}",
                now.div_euclid(window)
            ))))
            .update_expression("ADD offences :one SET expiresAt = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(now + 2 * window))
            .return_values(ReturnValue::UpdatedNew)
            // Not repeatable once applied: one attempt.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        let offence = counted
            .attributes
            .as_ref()
            .and_then(|a| number(a, "offences"))
            .and_then(|o| u32::try_from(o).ok())
            .unwrap_or(1);
        let step = usize::try_from(offence.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(ladder.len().saturating_sub(1));
        let duration = ladder.get(step).copied().unwrap_or(Duration::from_secs(60));
        let blocked_until_ms = now_ms + millis(duration);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("block#{ip}")))
            .item("ip", AttributeValue::S(ip.to_owned()))
            .item("blockedUntilMs", n(blocked_until_ms))
            .item("offence", n(offence))
            .item("expiresAt", n(blocked_until_ms / 1000 + 1))
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(Block {
            ip: ip.to_owned(),
            blocked_until_ms,
            offence,
        })
    }

    /// Blocks in force. A scan: this is an admin page over a small, self-expiring set.
    pub async fn blocked(&self, now_ms: i64) -> Result<Vec<Block>, StoreError> {
        let mut blocks = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :prefix) AND blockedUntilMs > :now")
            .expression_attribute_values(":prefix", AttributeValue::S("block#".into()))
            .expression_attribute_values(":now", n(now_ms))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from)?;
            if let (Some(ip), Some(blocked_until_ms)) = (
                item.get("ip").and_then(|v| v.as_s().ok()),
                number(&item, "blockedUntilMs"),
            ) {
                let offence = number(&item, "offence")
                    .and_then(|o| u32::try_from(o).ok())
                    .unwrap_or(1);
                blocks.push(Block {
                    ip: ip.clone(),
                    blocked_until_ms,
                    offence,
                });
            }
        }
        blocks.sort_by_key(|block| std::cmp::Reverse(block.blocked_until_ms));
        Ok(blocks)
    }

    /// Lifts a block; false when the IP was not blocked.
    pub async fn unblock(&self, ip: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("block#{ip}"))))
            .return_values(ReturnValue::AllOld)
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(output.attributes.is_some())
    }

    /// Seconds left to wait before `login` may try again, if it is backing off.
    pub async fn login_wait(
        &self,
        login: &str,
        now_ms: i64,
        after: u32,
        max: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("login-failures#{login}"))))
            .consistent_read(true)
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let failures = number(&item, "failures")
            .and_then(|f| u32::try_from(f).ok())
            .unwrap_or(0);
        let last_ms = number(&item, "lastFailureAtMs").unwrap_or(0);
        let Some(wait) = backoff_seconds(failures, after, max) else {
            return Ok(None);
        };
        let until_ms = last_ms + millis(Duration::from_secs(wait));
        Ok((until_ms > now_ms).then(|| seconds_until(until_ms, now_ms)))
    }

    pub async fn record_login_failure(&self, login: &str, now_ms: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("login-failures#{login}"))))
            .update_expression("ADD failures :one SET lastFailureAtMs = :now, expiresAt = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":exp", n(now_ms / 1000 + 86_400))
            // Not repeatable once applied: one attempt.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, login: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("login-failures#{login}"))))
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_threshold_and_is_capped() {
        let max = Duration::from_secs(900);
        assert_eq!(backoff_seconds(4, 5, max), None);
        assert_eq!(backoff_seconds(5, 5, max), Some(1));
        assert_eq!(backoff_seconds(6, 5, max), Some(2));
        assert_eq!(backoff_seconds(9, 5, max), Some(16));
        assert_eq!(backoff_seconds(20, 5, max), Some(900));
        assert_eq!(backoff_seconds(200, 5, max), Some(900));
    }
}
