//! Read-your-writes across the read/write split.
//!
//! Once a client has been told its write succeeded, its later reads must reflect it,
//! while other clients' reads stay on the replica. After a request's writes commit, the
//! writer's position is handed to the client as a signed consistency token (the
//! `X-Consistency-Token` header and an HttpOnly cookie, `http::consistency`). A later
//! request carrying it reads from the replica only if the replica connection serving
//! the read has replayed past that position, and from the writer otherwise
//! (`Db::read`). Zanzibar's zookies and Cosmos DB's session tokens work alike.
//!
//! The position is the writer's WAL insert LSN after the commit (at or past the commit
//! record) and the time. Where a server cannot report WAL positions (Aurora PostgreSQL
//! readers share the writer's storage and replay no WAL stream), time decides: a read
//! within the read-your-writes window of the write (or twice the measured replica lag,
//! if that is longer) goes to the writer.
//!
//! What a request must see lives in a task-local scope around the request, so every
//! `Db::read` of every handler obeys it without being told.

use std::{
    fmt,
    str::FromStr,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{cursor, secrets::HmacKey};

/// A PostgreSQL log sequence number (`16/B374D848` in SQL) as one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lsn(pub u64);

impl FromStr for Lsn {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (high, low) = text
            .split_once('/')
            .ok_or("an LSN is two hex numbers: X/Y")?;
        let part = |hex: &str| u32::from_str_radix(hex, 16).map_err(|_| "not hexadecimal");
        Ok(Self((u64::from(part(high)?) << 32) | u64::from(part(low)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Where the writer stood when a client's write was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritePosition {
    /// The writer's WAL insert position after the commit; `None` where the writer does
    /// not expose one.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub lsn: Option<Lsn>,
    /// When the write was acknowledged (Unix ms), for the time rule.
    #[serde(rename = "t")]
    pub at_ms: i64,
}

impl WritePosition {
    /// The later of two positions: a read must reflect both.
    pub fn later(self, other: Self) -> Self {
        Self {
            lsn: self.lsn.max(other.lsn),
            at_ms: self.at_ms.max(other.at_ms),
        }
    }

    /// The time rule: has a replica whose lag is at most `window` surely applied it?
    pub fn settled(&self, now_ms: i64, window: Duration) -> bool {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        now_ms.saturating_sub(self.at_ms) >= window_ms
    }
}

/// The signed form handed to clients: a position and when the token stops counting.
#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(flatten)]
    position: WritePosition,
    /// Unix ms.
    #[serde(rename = "e")]
    expires_ms: i64,
}

/// A token is not believed if it claims a write this far in our future (clock skew
/// between instances is far smaller).
const MAX_FUTURE_MS: i64 = 60_000;

/// Signs a position for a client; it counts for `ttl`.
pub fn issue_token(key: &HmacKey, position: WritePosition, ttl: Duration, now_ms: i64) -> String {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    cursor::encode(
        key,
        &Token {
            position,
            expires_ms: now_ms.saturating_add(ttl_ms),
        },
    )
}

/// The position in a token, if we signed it and it still counts. A tampered, foreign,
/// expired or future token is ignored (the read goes by the normal rules), never an error.
pub fn read_token(key: &HmacKey, token: &str, now_ms: i64) -> Option<WritePosition> {
    let token: Token = cursor::decode(key, token).ok()?;
    (token.expires_ms > now_ms && token.position.at_ms <= now_ms + MAX_FUTURE_MS)
        .then_some(token.position)
}

/// What a read in the current request must reflect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A position the client was given (its own earlier write).
    After(WritePosition),
    /// Everything committed: this request wrote already (its position is not known
    /// until it ends), or its client's last write could not be looked up.
    Writer,
}

/// One request's consistency state: what its reads must see, and whether it wrote.
#[derive(Debug, Default)]
pub struct RequestScope {
    read_after: Mutex<Option<WritePosition>>,
    wrote: AtomicBool,
    /// What the client must see is unknown: read from the writer.
    unknown: AtomicBool,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// Runs `request` (a whole request's handling) in a scope whose reads reflect
/// `read_after`; answers whether it wrote.
pub async fn scope<F: Future>(read_after: Option<WritePosition>, request: F) -> (F::Output, bool) {
    let state = RequestScope {
        read_after: Mutex::new(read_after),
        wrote: AtomicBool::new(false),
        unknown: AtomicBool::new(false),
    };
    REQUEST
        .scope(state, async {
            let output = request.await;
            let wrote = REQUEST.with(|scope| scope.wrote.load(Ordering::Relaxed));
            (output, wrote)
        })
        .await
}

/// What reads must reflect now; `None` outside a request scope (tools, schedules).
pub fn requirement() -> Option<Requirement> {
    REQUEST
        .try_with(|scope| {
            if scope.wrote.load(Ordering::Relaxed) || scope.unknown.load(Ordering::Relaxed) {
                return Some(Requirement::Writer);
            }
            let position = *scope
                .read_after
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            position.map(Requirement::After)
        })
        .ok()
        .flatten()
}

/// Raises what the current request's reads must reflect (e.g. the account's last
/// write, known to the caller's identity); no effect outside a request scope.
pub fn raise(position: WritePosition) {
    let _ = REQUEST.try_with(|scope| {
        let mut read_after = scope
            .read_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *read_after = Some(match *read_after {
            Some(current) => current.later(position),
            None => position,
        });
    });
}

/// The client's last write cannot be looked up (DynamoDB did not answer): the
/// request's reads go to the writer, which has every write.
pub fn position_unknown() {
    let _ = REQUEST.try_with(|scope| scope.unknown.store(true, Ordering::Relaxed));
}

/// Records that the current request wrote (a commit, or a writer session it held).
pub(crate) fn note_write() {
    let _ = REQUEST.try_with(|scope| scope.wrote.store(true, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::STANDARD};

    use super::*;
    use crate::secrets::{AppKeys, FromSecret};

    fn key(fill: u8) -> HmacKey {
        let k = STANDARD.encode([fill; 32]);
        let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
        match AppKeys::parse("t", &raw.to_string()) {
            Ok(keys) => keys.consistency,
            Err(e) => panic!("{e}"),
        }
    }

    const NOW: i64 = 1_800_000_000_000;

    fn at(lsn: u64, at_ms: i64) -> WritePosition {
        WritePosition {
            lsn: Some(Lsn(lsn)),
            at_ms,
        }
    }

    #[test]
    fn lsns_parse_and_print_as_postgresql_does() {
        assert_eq!("16/B374D848".parse(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!("0/0".parse(), Ok(Lsn(0)));
        for bad in ["", "16", "16/", "x/1", "1/2/3", "100000000/0"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_round_trips_until_it_expires() {
        let token = issue_token(&key(1), at(42, NOW), Duration::from_secs(60), NOW);
        assert_eq!(read_token(&key(1), &token, NOW + 59_999), Some(at(42, NOW)));
        assert_eq!(read_token(&key(1), &token, NOW + 60_000), None, "expired");
    }

    #[test]
    fn forged_foreign_and_future_tokens_are_ignored() {
        let token = issue_token(&key(1), at(42, NOW), Duration::from_secs(60), NOW);
        assert_eq!(read_token(&key(2), &token, NOW), None, "another key");
        let (body, tag) = token.split_once('.').unwrap_or_default();
        let mut forged = body.to_owned();
        forged.insert(3, 'A');
        assert_eq!(read_token(&key(1), &format!("{forged}.{tag}"), NOW), None);
        assert_eq!(read_token(&key(1), "garbage", NOW), None);
        let future = issue_token(
            &key(1),
            at(42, NOW + 3_600_000),
            Duration::from_secs(7200),
            NOW,
        );
        assert_eq!(
            read_token(&key(1), &future, NOW),
            None,
            "a write an hour ahead"
        );
    }

    #[test]
    fn a_cursor_is_not_a_consistency_token() {
        let keys = {
            let k = STANDARD.encode([1; 32]);
            let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
            AppKeys::parse("t", &raw.to_string()).unwrap_or_else(|e| panic!("{e}"))
        };
        let token = Token {
            position: at(42, NOW),
            expires_ms: NOW + 1,
        };
        let signed_as_cursor = cursor::encode(&keys.cursor, &token);
        assert_eq!(read_token(&keys.consistency, &signed_as_cursor, NOW), None);
    }

    #[test]
    fn the_later_position_covers_both() {
        let joined = at(10, NOW).later(at(5, NOW + 1));
        assert_eq!(joined, at(10, NOW + 1));
        let no_lsn = WritePosition {
            lsn: None,
            at_ms: NOW,
        };
        assert_eq!(no_lsn.later(at(7, NOW - 1)), at(7, NOW));
    }

    #[test]
    fn time_rule_waits_out_the_window() {
        let window = Duration::from_millis(500);
        assert!(!at(1, NOW).settled(NOW + 499, window));
        assert!(at(1, NOW).settled(NOW + 500, window));
    }

    #[tokio::test]
    async fn a_scope_carries_the_requirement_and_sees_writes() {
        assert_eq!(requirement(), None, "outside any request");
        let ((), wrote) = scope(Some(at(3, NOW)), async {
            assert_eq!(requirement(), Some(Requirement::After(at(3, NOW))));
            raise(at(9, NOW - 5));
            assert_eq!(requirement(), Some(Requirement::After(at(9, NOW))));
            note_write();
            assert_eq!(requirement(), Some(Requirement::Writer));
        })
        .await;
        assert!(wrote);
        let ((), wrote) = scope(None, async { assert_eq!(requirement(), None) }).await;
        assert!(!wrote);
        let ((), wrote) = scope(Some(at(3, NOW)), async {
            position_unknown();
            assert_eq!(requirement(), Some(Requirement::Writer));
        })
        .await;
        assert!(!wrote, "reading from the writer is not writing");
    }
}
