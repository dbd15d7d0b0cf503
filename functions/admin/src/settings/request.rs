//! Setting keys and values, parsed at the edge.

use serde::Deserialize;
use serde_json::Value;
use shared::{ApiError, domain::ValidationErrors};

/// Longest key, as the table's CHECK says (`^[a-z][a-z0-9_.]{0,99}$`).
pub const MAX_KEY_CHARS: usize = 100;
/// Largest value, serialized as compact JSON.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A setting's key: a lowercase letter, then up to 99 of `a-z`, `0-9`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut chars = raw.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            && raw.len() <= MAX_KEY_CHARS;
        if valid {
            return Ok(Self(raw.to_owned()));
        }
        Err(ValidationErrors::one(
            "key",
            format!(
                "key must be a lowercase letter followed by at most {} of a-z, 0-9, '_' and '.'",
                MAX_KEY_CHARS - 1
            ),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `PUT /api/admin/settings/{key}`: any JSON value, `null` included.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutSetting {
    /// Any JSON value.
    #[schema(value_type = Value)]
    value: Value,
}

impl PutSetting {
    pub fn parse(self) -> Result<Value, ApiError> {
        if self.value.to_string().len() <= MAX_VALUE_BYTES {
            return Ok(self.value);
        }
        Err(ValidationErrors::one(
            "value",
            "value must be at most 64 KiB as JSON",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_follow_the_table_check() {
        for good in [
            "a",
            "site.name",
            "limits.max_posts_per_day",
            "x9",
            &format!("a{}", "b".repeat(99)),
        ] {
            assert!(Key::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "9lives",
            "_private",
            ".dot",
            "Upper",
            "has space",
            "semi;colon",
            "dash-ed",
            "clé",
            "x'); DROP TABLE system_settings; --",
            &format!("a{}", "b".repeat(100)),
        ] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_any_json_up_to_64_kib() {
        let put = |body: Value| {
            serde_json::from_value::<PutSetting>(body)
                .map_err(|e| e.to_string())
                .and_then(|p| p.parse().map_err(|e| format!("{e:?}")))
        };
        for value in [
            json!(null),
            json!(true),
            json!(3.5),
            json!("s"),
            json!([1]),
            json!({"a": {"b": []}}),
        ] {
            assert_eq!(put(json!({ "value": value })).ok(), Some(value));
        }
        // The JSON string's quotes count: 65534 characters serialize to exactly 64 KiB.
        assert!(put(json!({"value": "x".repeat(MAX_VALUE_BYTES - 2)})).is_ok());
        assert!(
            put(json!({"value": "x".repeat(MAX_VALUE_BYTES - 1)}))
                .is_err_and(|e| e.contains("value"))
        );
        assert!(put(json!({})).is_err(), "value is required");
        assert!(
            put(json!({"value": 1, "key": "a"})).is_err(),
            "unknown fields"
        );
    }
}
