//! Refresh-token families (sessions) in DynamoDB.
//!
//! One item per family: `familyId`, `accountId`, `generation`, `revoked`, `createdAt`,
//! `lastUsedAt`, `rotatedAt`, `ip`, `userAgent`, `amr`, `expiresAt` (TTL). The `byAccount`
//! index lists an account's families. Rotation is one conditional update; only when
//! it fails is the item read, to tell a parallel tab from a replay.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure},
};

use super::StoreError;
use crate::http::context::RequestContext;
use crate::resilience::{
    CircuitBreaker,
    faults::{ThroughBreaker, single_attempt},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub id: String,
    pub account_id: i64,
    pub generation: u64,
    pub revoked: bool,
    pub created_at: i64,
    pub last_used_at: i64,
    pub rotated_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the session was authenticated; refreshed access tokens keep it.
    pub amr: Vec<String>,
    pub expires_at: i64,
}

/// What presenting generation `n` of a family leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// `n` was current: the family moved to the next generation (returned as it is now).
    Rotated(Family),
    /// `n` is the parent of the current generation, rotated moments ago (another tab
    /// won the race): hand back the current generation, change nothing.
    Grace(Family),
    /// Any other old generation: the token leaked. The family must be revoked.
    Reused,
    /// Revoked, expired or unknown family.
    Invalid,
}

/// Decides a failed rotation from the family's state. Pure, so every case is tested.
pub fn classify(
    family: Option<&Family>,
    presented: u64,
    now: i64,
    reuse_interval: Duration,
) -> Rotation {
    let Some(family) = family else {
        return Rotation::Invalid;
    };
    if family.revoked || family.expires_at <= now {
        return Rotation::Invalid;
    }
    let interval = i64::try_from(reuse_interval.as_secs()).unwrap_or(i64::MAX);
    if presented + 1 == family.generation && now - family.rotated_at <= interval {
        Rotation::Grace(family.clone())
    } else if presented < family.generation {
        Rotation::Reused
    } else {
        // A generation from the future was never issued: forged or from a lost write.
        Rotation::Invalid
    }
}

pub struct Families {
    client: Client,
    /// The instance's DynamoDB breaker, shared with the other DynamoDB stores.
    breaker: Arc<CircuitBreaker>,
    table: String,
}

/// Where and by what a session was used, recorded on creation and every rotation.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
    pub now: i64,
}

impl<'a> Seen<'a> {
    /// The request's client, now.
    pub fn of(context: &'a RequestContext) -> Self {
        Self {
            ip: context.client_ip,
            user_agent: context.user_agent.as_deref(),
            now: crate::auth::unix_now(),
        }
    }
}

/// The key of a family's item.
pub fn key(family_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("familyId".to_owned(), s(family_id))])
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl Families {
    pub fn new(client: Client, breaker: Arc<CircuitBreaker>, table: impl Into<String>) -> Self {
        Self {
            client,
            breaker,
            table: table.into(),
        }
    }

    pub async fn create(
        &self,
        account_id: i64,
        amr: &[String],
        seen: Seen<'_>,
        ttl: Duration,
    ) -> Result<Family, StoreError> {
        let family = Family {
            id: uuid::Uuid::new_v4().to_string(),
            account_id,
            generation: 0,
            revoked: false,
            created_at: seen.now,
            last_used_at: seen.now,
            rotated_at: seen.now,
            ip: seen.ip.map(|ip| ip.to_string()),
            user_agent: seen.user_agent.map(String::from),
            amr: amr.to_vec(),
            expires_at: seen.now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&family)))
            .condition_expression("attribute_not_exists(familyId)")
            // Not repeatable once applied: one attempt.
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(family)
    }

    /// Advances the family to `presented + 1` only if `presented` is current and the
    /// family is live (one conditional write); otherwise classifies the failure.
    pub async fn rotate(
        &self,
        family_id: &str,
        presented: u64,
        seen: Seen<'_>,
        ttl: Duration,
        reuse_interval: Duration,
    ) -> Result<Rotation, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(family_id)))
            .update_expression(
                "SET generation = generation + :one, lastUsedAt = :now, rotatedAt = :now, \
                 expiresAt = :exp, ip = :ip, userAgent = :ua",
            )
            .condition_expression(
                "generation = :presented AND revoked = :false AND expiresAt > :now",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(seen.now))
            .expression_attribute_values(
                ":exp",
                n(seen.now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2)),
            )
            .expression_attribute_values(":presented", n(presented))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = update
            .expression_attribute_values(
                ":ip",
                seen.ip
                    .map_or(AttributeValue::Null(true), |ip| s(ip.to_string())),
            )
            .expression_attribute_values(
                ":ua",
                seen.user_agent.map_or(AttributeValue::Null(true), s),
            );
        // A repeated rotation would find its own write and look like reuse.
        let result = update
            .customize()
            .config_override(single_attempt())
            .send()
            .through(&self.breaker)
            .await;
        match result {
            Ok(output) => output
                .attributes
                .as_ref()
                .and_then(from_item)
                .map(Rotation::Rotated)
                .ok_or_else(|| StoreError::DynamoDb {
                    message: "rotation returned no family".into(),
                    unavailable: false,
                }),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let family = match failed.item() {
                        Some(item) => from_item(item),
                        // Not every DynamoDB-compatible server returns the old item.
                        None => self.get(family_id).await?,
                    };
                    Ok(classify(
                        family.as_ref(),
                        presented,
                        seen.now,
                        reuse_interval,
                    ))
                }
                _ => Err(error.into()),
            },
        }
    }

    pub async fn get(&self, family_id: &str) -> Result<Option<Family>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(family_id)))
            .consistent_read(true)
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(output.item.as_ref().and_then(from_item))
    }

    /// Marks the family revoked; its current token stops working at once.
    pub async fn revoke(&self, family_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(family_id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(familyId)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .through(&self.breaker)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The account's live sessions, newest first.
    pub async fn list_active(&self, account_id: i64, now: i64) -> Result<Vec<Family>, StoreError> {
        let mut families = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("byAccount")
            .key_condition_expression("accountId = :account")
            .expression_attribute_values(":account", s(account_id.to_string()))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from)?;
            if let Some(family) = from_item(&item)
                && !family.revoked
                && family.expires_at > now
            {
                families.push(family);
            }
        }
        Ok(families)
    }

    /// Revokes every live family of the account except `keep`; returns how many.
    pub async fn revoke_all(
        &self,
        account_id: i64,
        keep: Option<&str>,
        now: i64,
    ) -> Result<usize, StoreError> {
        let targets: Vec<Family> = self
            .list_active(account_id, now)
            .await?
            .into_iter()
            .filter(|family| Some(family.id.as_str()) != keep)
            .collect();
        // Concurrently: one session's revocation must not wait on another's.
        futures_util::future::try_join_all(targets.iter().map(|family| self.revoke(&family.id)))
            .await?;
        Ok(targets.len())
    }
}

fn to_item(family: &Family) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("familyId".to_owned(), s(&family.id)),
        ("accountId".to_owned(), s(family.account_id.to_string())),
        ("generation".to_owned(), n(family.generation)),
        ("revoked".to_owned(), AttributeValue::Bool(family.revoked)),
        ("createdAt".to_owned(), n(family.created_at)),
        ("lastUsedAt".to_owned(), n(family.last_used_at)),
        ("rotatedAt".to_owned(), n(family.rotated_at)),
        ("expiresAt".to_owned(), n(family.expires_at)),
        ("amr".to_owned(), s(family.amr.join(" "))),
    ]);
    if let Some(ip) = &family.ip {
        item.insert("ip".to_owned(), s(ip));
    }
    if let Some(agent) = &family.user_agent {
        item.insert("userAgent".to_owned(), s(agent));
    }
    item
}

pub(crate) fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Family> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let number = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    Some(Family {
        id: text("familyId")?,
        account_id: text("accountId")?.parse().ok()?,
        generation: u64::try_from(number("generation")?).ok()?,
        revoked: item
            .get("revoked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        created_at: number("createdAt")?,
        last_used_at: number("lastUsedAt")?,
        rotated_at: number("rotatedAt")?,
        ip: text("ip"),
        user_agent: text("userAgent"),
        amr: text("amr")
            .map(|amr| amr.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        expires_at: number("expiresAt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(10);

    fn family(generation: u64, rotated_at: i64) -> Family {
        Family {
            id: "f".into(),
            account_id: 1,
            generation,
            revoked: false,
            created_at: 0,
            last_used_at: rotated_at,
            rotated_at,
            ip: None,
            user_agent: None,
            amr: vec!["pwd".into()],
            expires_at: 1_000_000,
        }
    }

    #[test]
    fn parent_within_the_interval_gets_the_current_child() {
        let current = family(5, 100);
        assert_eq!(
            classify(Some(&current), 4, 105, INTERVAL),
            Rotation::Grace(current.clone())
        );
    }

    #[test]
    fn parent_after_the_interval_is_reuse() {
        assert_eq!(
            classify(Some(&family(5, 100)), 4, 111, INTERVAL),
            Rotation::Reused
        );
    }

    #[test]
    fn grandparent_is_reuse_even_within_the_interval() {
        assert_eq!(
            classify(Some(&family(5, 100)), 3, 101, INTERVAL),
            Rotation::Reused
        );
    }

    #[test]
    fn revoked_expired_unknown_and_future_generations_are_invalid() {
        let mut revoked = family(5, 100);
        revoked.revoked = true;
        assert_eq!(
            classify(Some(&revoked), 4, 101, INTERVAL),
            Rotation::Invalid
        );
        let mut expired = family(5, 100);
        expired.expires_at = 100;
        assert_eq!(
            classify(Some(&expired), 4, 101, INTERVAL),
            Rotation::Invalid
        );
        assert_eq!(classify(None, 0, 101, INTERVAL), Rotation::Invalid);
        assert_eq!(
            classify(Some(&family(5, 100)), 9, 101, INTERVAL),
            Rotation::Invalid
        );
    }

    #[test]
    fn items_round_trip() {
        let mut original = family(3, 42);
        original.ip = Some("203.0.113.1".into());
        assert_eq!(from_item(&to_item(&original)), Some(original));
    }
}
