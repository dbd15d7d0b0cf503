//! Opaque list cursors: the position as JSON, base64url, plus an HMAC with the cursor
//! key, so a client can neither read nor forge one. A tampered cursor is a 400.

use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};
use time::OffsetDateTime;

use crate::{error::ApiError, secrets::HmacKey};

/// Page sizes: `?limit=` defaults to 50 and is clamped to 1..=1000.
pub fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 1000)
}

/// A keyset page over rows ordered newest first by `(created_at, id)`: where the
/// previous page ended (from `?cursor=`) and how many rows to return (from `?limit=`).
#[derive(Debug, Clone, Copy)]
pub struct Keyset {
    pub limit: i64,
    after: Option<(i64, i64)>,
}

impl Keyset {
    pub fn parse(
        key: &HmacKey,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            limit: page_size(limit),
            after: cursor.map(|c| decode(key, c)).transpose()?,
        })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// `created_at` of the last row already seen, for `(created_at, id) < ($t, $id)`.
    pub fn after_time(&self) -> Option<OffsetDateTime> {
        self.after.and_then(|(us, _)| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
        })
    }

    pub fn after_id(&self) -> Option<i64> {
        self.after.map(|(_, id)| id)
    }

    /// The list response for the fetched rows: the page of them rendered as `items`,
    /// and `nextCursor` at the last one (null on the last page).
    /// The page of responses for these rows (fetched with [`Keyset::fetch`], one more
    /// than the limit): the extra row only says there is a next page.
    pub fn respond<T, R: From<T>>(
        &self,
        key: &HmacKey,
        mut rows: Vec<T>,
        position: impl Fn(&T) -> (OffsetDateTime, i64),
    ) -> Page<R> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = rows.last().filter(|_| more).map(|row| {
            let (time, id) = position(row);
            encode(key, &(micros(time), id))
        });
        Page::new(rows.into_iter().map(R::from), next)
    }
}

/// Every list response: the items and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it as `?cursor=` for the next page; null on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page whose cursor the caller made (a store paged by something other than
    /// `(created_at, id)`).
    pub fn new(items: impl IntoIterator<Item = T>, next_cursor: Option<String>) -> Self {
        Self {
            items: items.into_iter().collect(),
            next_cursor,
        }
    }

    /// A set small enough to be one page.
    pub fn single(items: impl IntoIterator<Item = T>) -> Self {
        Self::new(items, None)
    }
}

/// PostgreSQL keeps microseconds, so a cursor keeps exactly what the row has.
fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub fn encode<T: Serialize>(key: &HmacKey, position: &T) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default());
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.expose()),
        body.as_bytes(),
    );
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

pub fn decode<T: DeserializeOwned>(key: &HmacKey, cursor: &str) -> Result<T, ApiError> {
    let invalid = || ApiError::validation("Invalid cursor");
    let (body, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key.expose()),
        body.as_bytes(),
        &tag,
    )
    .map_err(|_| invalid())?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
    serde_json::from_slice(&json).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use serde_json::{Value, json};

    use super::*;
    use crate::secrets::{AppKeys, FromSecret};

    fn key(fill: u8) -> HmacKey {
        let k = STANDARD.encode([fill; 32]);
        let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
        match AppKeys::parse("t", &raw.to_string()) {
            Ok(keys) => keys.cursor,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn round_trips_and_refuses_tampering() {
        let cursor = encode(&key(1), &(1_795_000_000_i64, 42_i64));
        assert_eq!(
            decode::<(i64, i64)>(&key(1), &cursor).ok(),
            Some((1_795_000_000, 42))
        );
        let (body, tag) = cursor.split_once('.').unwrap_or_default();
        let forged_body = URL_SAFE_NO_PAD.encode(b"[1795000000,1]");
        assert!(decode::<(i64, i64)>(&key(1), &format!("{forged_body}.{tag}")).is_err());
        assert!(
            decode::<(i64, i64)>(&key(2), &cursor).is_err(),
            "another key"
        );
        assert!(decode::<(i64, i64)>(&key(1), body).is_err(), "no tag");
    }

    #[test]
    fn a_response_is_one_page_and_a_cursor_to_its_last_row() {
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let rows: Vec<(OffsetDateTime, i64)> = (0..3).map(|i| (at(1_000 - i), 10 - i)).collect();
        let page = Keyset::parse(&key(1), None, Some(2)).unwrap_or_else(|e| panic!("{e}"));
        let response: Page<(OffsetDateTime, i64)> = page.respond(&key(1), rows.clone(), |row| *row);
        assert_eq!(
            response.items.iter().map(|row| row.1).collect::<Vec<_>>(),
            [10, 9]
        );
        let next = response.next_cursor.as_deref().unwrap_or_default();
        let after = Keyset::parse(&key(1), Some(next), Some(2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (after.after_time(), after.after_id()),
            (Some(at(999)), Some(9))
        );

        let ids: Vec<i64> = rows[..2].iter().map(|row| row.1).collect();
        let last: Page<i64> = page.respond(&key(1), ids, |id| (at(1_000), *id));
        assert_eq!(
            serde_json::to_value(last).ok(),
            Some(json!({ "items": [10, 9], "nextCursor": null }))
        );
    }

    proptest::proptest! {
        /// No text panics the decoder, and none decodes without our key's tag.
        #[test]
        fn any_text_is_refused_not_panicked_on(text in proptest::prelude::any::<String>()) {
            proptest::prop_assert!(decode::<Value>(&key(1), &text).is_err());
        }

        /// Changing any one character of a real cursor makes it invalid.
        #[test]
        fn a_cursor_changed_anywhere_is_refused(
            position in proptest::prelude::any::<(i64, i64)>(),
            index in proptest::prelude::any::<proptest::sample::Index>(),
            replacement in proptest::prelude::any::<char>(),
        ) {
            let cursor = encode(&key(1), &position);
            proptest::prop_assert_eq!(decode::<(i64, i64)>(&key(1), &cursor).ok(), Some(position));
            let mut chars: Vec<char> = cursor.chars().collect();
            let at = index.index(chars.len());
            proptest::prop_assume!(chars[at] != replacement);
            chars[at] = replacement;
            let changed: String = chars.into_iter().collect();
            proptest::prop_assert!(decode::<(i64, i64)>(&key(1), &changed).is_err());
        }

        /// Any position a cursor can hold gives a keyset without panicking.
        #[test]
        fn any_signed_position_makes_a_keyset(position in proptest::prelude::any::<(i64, i64)>(), limit in proptest::prelude::any::<Option<i64>>()) {
            let cursor = encode(&key(1), &position);
            let page = Keyset::parse(&key(1), Some(&cursor), limit);
            proptest::prop_assert!(page.is_ok());
            if let Ok(page) = page {
                proptest::prop_assert!((1..=1000).contains(&page.limit));
                let _ = page.after_time();
            }
        }
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(
            (page_size(None), page_size(Some(0)), page_size(Some(5000))),
            (50, 1, 1000)
        );
    }
}
