//! The one DynamoDB read of a request: the client IP's block, and for a caller with an
//! access token, its session (the refresh-token family its `sid` names) and its
//! account item (`account_state`), in one BatchGetItem. Three guarantees for one round
//! trip: a blocked IP is refused, a revoked session or changed role stops the token
//! at once, and the account's last write is read back by every client of it. An
//! anonymous request from an IP found not blocked within the last second makes no
//! call at all.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, KeysAndAttributes},
};

use super::{
    StoreError,
    account_state::{self, AccountState},
    families::{self, Family},
};
use crate::{
    config::Tables,
    resilience::{CircuitBreaker, faults::ThroughBreaker},
};

type Item = HashMap<String, AttributeValue>;

/// What the request's read found.
#[derive(Debug, Clone, Default)]
pub struct RequestState {
    /// When the client IP's block ends (Unix ms), if it is blocked now.
    pub blocked_until_ms: Option<i64>,
    /// The caller's session as stored (`None`: no such family).
    pub session: Option<Family>,
    /// The caller's account item (empty for an anonymous request).
    pub account: AccountState,
}

/// The caller an access token claims to be: account and session.
#[derive(Debug, Clone, Copy)]
pub struct Claimed<'a> {
    pub account_id: i64,
    pub session_id: &'a str,
}

/// What the request does to the API: a write (a login or a signup among them) always
/// reads the IP's block, strongly consistent; an anonymous read may use what this
/// instance saw within [`NOT_BLOCKED_FOR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn of(method: &http::Method) -> Self {
        if method.is_safe() {
            Self::Read
        } else {
            Self::Write
        }
    }
}

pub struct RequestStates {
    client: Client,
    breaker: Arc<CircuitBreaker>,
    tables: Tables,
    /// IPs found not blocked, and when: an anonymous read from one of them within
    /// [`NOT_BLOCKED_FOR`] needs no call at all (a new block reaches reads within it;
    /// writes, logins among them, always read the block).
    not_blocked: Mutex<HashMap<String, Instant>>,
}

/// How long "this IP is not blocked" is believed without asking again.
pub const NOT_BLOCKED_FOR: Duration = Duration::from_secs(1);
/// IPs remembered at once; beyond it, stale ones are dropped.
const MAX_REMEMBERED_IPS: usize = 10_000;

fn block_key(ip: &str) -> Item {
    HashMap::from([("pk".to_owned(), AttributeValue::S(format!("block#{ip}")))])
}

fn keys(keys: Vec<Item>, consistent: bool) -> Result<KeysAndAttributes, StoreError> {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(consistent)
        .build()
        .map_err(|error| StoreError::DynamoDb {
            message: error.to_string(),
            unavailable: false,
        })
}

impl RequestStates {
    pub fn new(client: Client, breaker: Arc<CircuitBreaker>, tables: Tables) -> Self {
        Self {
            client,
            breaker,
            tables,
            not_blocked: Mutex::new(HashMap::new()),
        }
    }

    fn recently_not_blocked(&self, ip: &str) -> bool {
        let remembered = self
            .not_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        remembered
            .get(ip)
            .is_some_and(|seen| seen.elapsed() < NOT_BLOCKED_FOR)
    }

    /// The IP was just blocked from this instance: believe nothing remembered of it.
    pub fn forget(&self, ip: &str) {
        self.not_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(ip);
    }

    fn remember_not_blocked(&self, ip: &str) {
        let mut remembered = self
            .not_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= MAX_REMEMBERED_IPS {
            remembered.retain(|_, seen| seen.elapsed() < NOT_BLOCKED_FOR);
        }
        remembered.insert(ip.to_owned(), Instant::now());
    }

    /// Reads it all in one call. Strongly consistent when there is a caller (a
    /// revocation or role change answered a moment ago must count on this request) and
    /// for a write (a block made a moment ago by another instance must stop the next
    /// login attempt). Keys DynamoDB leaves unprocessed (throttling) are asked once more.
    pub async fn load(
        &self,
        ip: &str,
        caller: Option<Claimed<'_>>,
        access: Access,
        now_ms: i64,
    ) -> Result<RequestState, StoreError> {
        if caller.is_none() && access == Access::Read && self.recently_not_blocked(ip) {
            return Ok(RequestState::default());
        }
        let consistent = caller.is_some() || access == Access::Write;
        let mut security = vec![block_key(ip)];
        let mut items = HashMap::from([(self.tables.rate_limits.clone(), Vec::new())]);
        let mut request = HashMap::new();
        if let Some(caller) = caller {
            security.push(account_state::key(caller.account_id));
            request.insert(
                self.tables.token_families.clone(),
                keys(vec![families::key(caller.session_id)], true)?,
            );
        }
        request.insert(self.tables.rate_limits.clone(), keys(security, consistent)?);
        for _attempt in 0..2 {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .through(&self.breaker)
                .await
                .map_err(StoreError::from)?;
            for (table, found) in output.responses.unwrap_or_default() {
                items.entry(table).or_default().extend(found);
            }
            request = output.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                let found = self.parse(&items, ip, caller, now_ms);
                if found.blocked_until_ms.is_none() {
                    self.remember_not_blocked(ip);
                }
                return Ok(found);
            }
        }
        Err(StoreError::DynamoDb {
            message: "BatchGetItem left keys unprocessed twice".into(),
            unavailable: true,
        })
    }

    fn parse(
        &self,
        items: &HashMap<String, Vec<Item>>,
        ip: &str,
        caller: Option<Claimed<'_>>,
        now_ms: i64,
    ) -> RequestState {
        let security = items
            .get(&self.tables.rate_limits)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let with_pk = |pk: &str| {
            security.iter().find(|item| {
                item.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v == pk)
            })
        };
        let blocked_until_ms = with_pk(&format!("block#{ip}"))
            .and_then(|item| item.get("blockedUntilMs")?.as_n().ok()?.parse::<i64>().ok())
            .filter(|until| *until > now_ms);
        let Some(caller) = caller else {
            return RequestState {
                blocked_until_ms,
                ..RequestState::default()
            };
        };
        RequestState {
            blocked_until_ms,
            session: items
                .get(&self.tables.token_families)
                .into_iter()
                .flatten()
                .find_map(families::from_item)
                .filter(|family| family.id == caller.session_id),
            account: with_pk(&format!("account#{}", caller.account_id))
                .map(AccountState::parse)
                .unwrap_or_default(),
        }
    }
}
