//! Brute-force state in the rate-limit table (all items expire by TTL):
//! `block#<ip>` (an IP block: `blockedUntilMs`, `offence`), `offences#<ip>#<window>`
//! (offences in the current offence window), and the backoff counters
//! (`attempts`, `lastAttemptAtMs`): `login-failures#account:<id>` (passwords tried for
//! an account, by any of its names), `login-failures#name:<login>` (for a name no
//! account has), `otp-failures#account:<id>` (second-factor codes tried for an
//! account, across MFA tokens). Times of blocks and backoffs are in milliseconds:
//! waits of a second or two must not end early.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    config::http::HttpResponse,
    error::SdkError,
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue},
};

use super::StoreError;
use crate::resilience::{
    CircuitBreaker, Guarded,
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

/// The rate-limit table's index of block items, by when they end (template.yaml).
pub const ACTIVE_BLOCKS_INDEX: &str = "activeBlocks";
/// The index's one partition: every block item has `blockList = "block"`. Blocks are
/// written once per offence, far below what one index partition takes (1,000 writes/s).
const BLOCK_LIST: &str = "block";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub ip: String,
    /// Unix milliseconds.
    pub blocked_until_ms: i64,
    pub offence: u32,
}

/// The `attempts` an update returned.
fn counted(attributes: Option<&HashMap<String, AttributeValue>>) -> u32 {
    attributes
        .and_then(|a| number(a, "attempts"))
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(u32::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Whole seconds to wait until `until_ms`, rounded up (for Retry-After).
pub fn seconds_until(until_ms: i64, now_ms: i64) -> u64 {
    u64::try_from((until_ms - now_ms + 999) / 1000).unwrap_or(0)
}

pub use crate::ratelimit::config::BackoffPolicy;

/// Whose attempts a counter counts. Logins are counted per account, whichever name
/// (username or email) they used; a name no account has is counted by its
/// normalized form, so an unknown name backs off exactly as a known one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackoffKey {
    /// Passwords tried for an account (login, and re-authentication).
    LoginAccount(i64),
    /// Passwords tried for a login name no account has.
    LoginName(String),
    /// Second-factor codes tried for an account (2FA verify, re-authentication).
    SecondFactor(i64),
}

impl BackoffKey {
    /// A login name as the accounts table matches it: trimmed, lower case.
    pub fn normalized_name(login: &str) -> String {
        login.trim().to_lowercase().chars().take(254).collect()
    }

    fn pk(&self) -> String {
        match self {
            Self::LoginAccount(id) => format!("login-failures#account:{id}"),
            Self::LoginName(name) => format!("login-failures#name:{name}"),
            Self::SecondFactor(id) => format!("otp-failures#account:{id}"),
        }
    }
}

/// What [`BruteForce::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead and check the secret: this is attempt number `attempt` of the count.
    Granted { attempt: u32 },
    /// Backing off: try again in this many seconds (nothing was counted; only a store
    /// without isolated conditions may have counted a refused attempt).
    Wait { seconds: u64 },
}

fn condition_failed(error: &Guarded<SdkError<UpdateItemError, HttpResponse>>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
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
            // Puts the block in the `activeBlocks` index (only block items have it).
            .item("blockList", AttributeValue::S(BLOCK_LIST.into()))
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

    /// Blocks in force, the latest to end first: one page of `limit` from the
    /// `activeBlocks` index (block items only, keyed by when they end), after the
    /// position `after` (`(blockedUntilMs, ip)` of the last block already seen). A
    /// Query reads only live blocks however many counters the table holds; `more` says
    /// whether another page follows.
    pub async fn blocked(
        &self,
        now_ms: i64,
        limit: usize,
        after: Option<&(i64, String)>,
    ) -> Result<(Vec<Block>, bool), StoreError> {
        let fetch = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ACTIVE_BLOCKS_INDEX)
            .key_condition_expression("blockList = :list AND blockedUntilMs > :now")
            .expression_attribute_values(":list", AttributeValue::S(BLOCK_LIST.into()))
            .expression_attribute_values(":now", n(now_ms))
            .scan_index_forward(false)
            .limit(fetch);
        if let Some((until_ms, ip)) = after {
            query = query
                .exclusive_start_key("pk", AttributeValue::S(format!("block#{ip}")))
                .exclusive_start_key("blockList", AttributeValue::S(BLOCK_LIST.into()))
                .exclusive_start_key("blockedUntilMs", n(until_ms));
        }
        let output = query
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        let mut blocks: Vec<Block> = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                Some(Block {
                    ip: item.get("ip")?.as_s().ok()?.clone(),
                    blocked_until_ms: number(item, "blockedUntilMs")?,
                    offence: number(item, "offence")
                        .and_then(|o| u32::try_from(o).ok())
                        .unwrap_or(1),
                })
            })
            .collect();
        let more = blocks.len() > limit;
        blocks.truncate(limit);
        Ok((blocks, more))
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

    /// Reserves one attempt on a backoff counter, atomically, before the secret is
    /// checked: every attempt counts as a failure until it is proven good
    /// ([`BruteForce::clear`]). Attempts within `policy.free` are one conditional
    /// `ADD`; past it, an attempt is granted only once the wait after the last one
    /// has passed, by a write conditioned on the counter being as read. However many
    /// attempts race, each number is granted once, so N concurrent attempts check at
    /// most as many secrets as the policy allows.
    pub async fn reserve(
        &self,
        counter: &BackoffKey,
        policy: &BackoffPolicy,
        now_ms: i64,
    ) -> Result<Reservation, StoreError> {
        let pk = counter.pk();
        let stale_ms = now_ms.saturating_sub(millis(policy.forget_after));
        let expires = now_ms / 1000 + secs(policy.forget_after) + 1;
        for _ in 0..3 {
            let free = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(pk.clone())))
                .update_expression("ADD attempts :one SET lastAttemptAtMs = :now, expiresAt = :exp")
                .condition_expression(
                    "attribute_not_exists(attempts) OR (attempts < :free AND lastAttemptAtMs > :stale)",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":exp", n(expires))
                .expression_attribute_values(":free", n(policy.free))
                .expression_attribute_values(":stale", n(stale_ms))
                .return_values(ReturnValue::UpdatedNew)
                // Not repeatable once applied: one attempt.
                .customize()
                .config_override(single_attempt())
                .send()
                .through(&self.breaker)
                .await;
            match free {
                Ok(output) => {
                    let attempt = counted(output.attributes.as_ref());
                    // Never past the free attempts, whatever the store did: a count
                    // above them means the condition did not hold (a store that
                    // evaluates conditions without isolation, as moto does under load).
                    if attempt <= policy.free {
                        return Ok(Reservation::Granted { attempt });
                    }
                    return Ok(Reservation::Wait {
                        seconds: policy.base.as_secs().max(1),
                    });
                }
                Err(error) if !condition_failed(&error) => return Err(error.into()),
                Err(_) => {}
            }
            // Past the free attempts (or a counter gone stale): read it, and take the
            // next number only if nobody took it meanwhile.
            let Some((attempts, last_ms)) = self.counter(&pk).await? else {
                // Cleared meanwhile (a success): count from zero again.
                continue;
            };
            let next = if last_ms <= stale_ms {
                1
            } else {
                let wait = policy.wait_after(attempts).unwrap_or_default();
                let until_ms = last_ms.saturating_add(millis(wait));
                if until_ms > now_ms {
                    return Ok(Reservation::Wait {
                        seconds: seconds_until(until_ms, now_ms).max(1),
                    });
                }
                attempts.saturating_add(1)
            };
            let taken = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(pk.clone())))
                .update_expression("SET attempts = :next, lastAttemptAtMs = :now, expiresAt = :exp")
                .condition_expression("attempts = :seen AND lastAttemptAtMs = :last")
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":exp", n(expires))
                .expression_attribute_values(":seen", n(attempts))
                .expression_attribute_values(":last", n(last_ms))
                .customize()
                .config_override(single_attempt())
                .send()
                .through(&self.breaker)
                .await;
            match taken {
                Ok(_) => return Ok(Reservation::Granted { attempt: next }),
                Err(error) if !condition_failed(&error) => return Err(error.into()),
                // Another attempt took this number: look again.
                Err(_) => {}
            }
        }
        // Lost three races in a row: other attempts are being counted right now, so
        // this one certainly waits.
        Ok(Reservation::Wait {
            seconds: policy.base.as_secs().max(1),
        })
    }

    /// `(attempts, lastAttemptAtMs)` of a counter, read strongly consistently.
    async fn counter(&self, pk: &str) -> Result<Option<(u32, i64)>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk.to_owned())))
            .consistent_read(true)
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(output.item.and_then(|item| {
            let attempts = u32::try_from(number(&item, "attempts")?).ok()?;
            Some((attempts, number(&item, "lastAttemptAtMs").unwrap_or(0)))
        }))
    }

    /// The secret was right: the counter starts again from zero.
    pub async fn clear(&self, counter: &BackoffKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(counter.pk())))
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
    fn backoff_doubles_after_the_free_attempts_and_is_capped() {
        let policy = BackoffPolicy {
            free: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(900),
            forget_after: Duration::from_secs(86_400),
        };
        let wait = |n| policy.wait_after(n).map(|d| d.as_secs());
        assert_eq!(wait(4), None);
        assert_eq!(wait(5), Some(1));
        assert_eq!(wait(6), Some(2));
        assert_eq!(wait(9), Some(16));
        assert_eq!(wait(20), Some(900));
        assert_eq!(wait(u32::MAX), Some(900));
        let slower = BackoffPolicy {
            base: Duration::from_secs(5),
            ..policy
        };
        assert_eq!(slower.wait_after(6).map(|d| d.as_secs()), Some(10));
    }

    #[test]
    fn logins_by_any_name_of_an_account_share_its_counter() {
        assert_eq!(BackoffKey::LoginAccount(7).pk(), "login-failures#account:7");
        assert_eq!(
            BackoffKey::LoginName(BackoffKey::normalized_name("  Ada@Example.COM ")).pk(),
            "login-failures#name:ada@example.com"
        );
        assert_ne!(
            BackoffKey::SecondFactor(7).pk(),
            BackoffKey::LoginAccount(7).pk()
        );
    }
}
