//! The per-account item in the rate-limit table, `account#<id>`: what every request of
//! an account must know at once, read with the request's other state in one call
//! (`request_state`).
//!
//! - `roleId`: the account's role, written when it changes. An access token naming
//!   another role stops working on its next request (its client refreshes and gets
//!   the new role), instead of living out its 15 minutes.
//! - `deleted`: set when the account is deleted; every token of it stops at once.
//! - `lastWriteLsn`, `lastWriteAtMs`: the writer's position after the account's last
//!   acknowledged write, so every client of the account reads its own writes even if
//!   it does not echo the consistency token.

use std::{collections::HashMap, sync::Arc};

use aws_sdk_dynamodb::{Client, operation::update_item::UpdateItemError, types::AttributeValue};

use super::StoreError;
use crate::{
    db::consistency::{Lsn, WritePosition},
    resilience::{CircuitBreaker, faults::ThroughBreaker},
};

/// What the account item says (all absent for an account never changed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    pub role_id: Option<i16>,
    pub deleted: bool,
    pub last_write: Option<WritePosition>,
}

pub fn key(account_id: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([(
        "pk".to_owned(),
        AttributeValue::S(format!("account#{account_id}")),
    )])
}

fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl AccountState {
    pub fn parse(item: &HashMap<String, AttributeValue>) -> Self {
        Self {
            role_id: number(item, "roleId"),
            deleted: item
                .get("deleted")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            last_write: number(item, "lastWriteAtMs").map(|at_ms| WritePosition {
                lsn: number(item, "lastWriteLsn").map(Lsn),
                at_ms,
            }),
        }
    }
}

pub struct AccountStates {
    client: Client,
    /// The instance's DynamoDB breaker, shared with the other DynamoDB stores.
    breaker: Arc<CircuitBreaker>,
    table: String,
}

impl AccountStates {
    pub fn new(client: Client, breaker: Arc<CircuitBreaker>, table: impl Into<String>) -> Self {
        Self {
            client,
            breaker,
            table: table.into(),
        }
    }

    /// The account's role now: tokens naming another one are refused from now on.
    pub async fn record_role(&self, account_id: i64, role_id: i16) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id)))
            .update_expression("SET roleId = :role")
            .expression_attribute_values(":role", AttributeValue::N(role_id.to_string()))
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// The account is gone: every token of it is refused from now on.
    pub async fn record_deleted(&self, account_id: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id)))
            .update_expression("SET deleted = :true")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .through(&self.breaker)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// The account's latest acknowledged write; an older position never replaces a
    /// newer one (requests of one account may finish out of order).
    pub async fn record_write(
        &self,
        account_id: i64,
        position: WritePosition,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id)))
            .expression_attribute_values(":at", AttributeValue::N(position.at_ms.to_string()));
        // Ordered by WAL position where there is one (two writes can share a
        // millisecond), else by time.
        let update = match position.lsn {
            Some(Lsn(lsn)) => update
                .update_expression("SET lastWriteAtMs = :at, lastWriteLsn = :lsn")
                .condition_expression("attribute_not_exists(lastWriteLsn) OR lastWriteLsn < :lsn")
                .expression_attribute_values(":lsn", AttributeValue::N(lsn.to_string())),
            None => update
                .update_expression("SET lastWriteAtMs = :at REMOVE lastWriteLsn")
                .condition_expression("attribute_not_exists(lastWriteAtMs) OR lastWriteAtMs < :at"),
        };
        match update.send().through(&self.breaker).await {
            Ok(_) => Ok(()),
            // A later write was recorded first: it covers this one.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_never_written_says_nothing() {
        assert_eq!(
            AccountState::parse(&HashMap::new()),
            AccountState::default()
        );
    }

    #[test]
    fn items_parse_role_deletion_and_last_write() {
        let item = HashMap::from([
            ("roleId".to_owned(), AttributeValue::N("3".into())),
            ("deleted".to_owned(), AttributeValue::Bool(true)),
            ("lastWriteAtMs".to_owned(), AttributeValue::N("1700".into())),
            ("lastWriteLsn".to_owned(), AttributeValue::N("99".into())),
        ]);
        assert_eq!(
            AccountState::parse(&item),
            AccountState {
                role_id: Some(3),
                deleted: true,
                last_write: Some(WritePosition {
                    lsn: Some(Lsn(99)),
                    at_ms: 1700
                }),
            }
        );
    }
}
