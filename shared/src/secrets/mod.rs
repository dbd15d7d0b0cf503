//! Secrets Manager with a TTL cache and typed, validated key sets.
//!
//! Each secret is fetched at most once per TTL per instance (one fetch at a time), and
//! parsed into a type that refuses weak or malformed material. When a refresh fails
//! and a copy is cached, the stale copy keeps serving: a Secrets Manager outage must
//! not take down an instance that already has its keys. Fetches go through the
//! Secrets Manager circuit breaker; at cold start they are retried a bounded number
//! of times ([`Secrets::warm`]).

pub mod config;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

pub(crate) mod parse;

use config::SecretsConfig;
use parse::malformed;
pub use parse::{FromSecret, MIN_KEY_BYTES, SecretsError};

use crate::{
    auth::keyring::KeyRing,
    resilience::config::RetryPolicy,
    resilience::{CircuitBreaker, Guarded, faults::is_aws_fault, retry},
};

pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    breaker: Arc<CircuitBreaker>,
    app_keys: SecretCell<AppKeys>,
    signing_keys: SecretCell<KeyRing>,
}

impl Secrets {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        breaker: Arc<CircuitBreaker>,
        config: &SecretsConfig,
    ) -> Self {
        Self {
            client,
            breaker,
            app_keys: SecretCell::new(&config.app_keys_id, config.cache_ttl),
            signing_keys: SecretCell::new(&config.signing_keys_id, config.cache_ttl),
        }
    }

    /// Fetches every key set once, at cold start and side by side, retrying while
    /// Secrets Manager is unreachable: the first request then finds its keys cached.
    pub async fn warm(&self, policy: &RetryPolicy) -> Result<(), SecretsError> {
        let unavailable = SecretsError::is_unavailable;
        let signing = || self.signing_keys();
        // Both run to the end (not try_join): the error reported is always the app
        // keys' first, so the fatal line names the same secret every time.
        let (app_keys, signing_keys) = tokio::join!(
            retry(policy, "read app keys", unavailable, || self.app_keys()),
            retry(policy, "read signing keys", unavailable, signing),
        );
        app_keys?;
        signing_keys?;
        Ok(())
    }

    /// [`Secrets::warm`] for a function that needs the app keys only (the mailer).
    pub async fn warm_app_keys(&self, policy: &RetryPolicy) -> Result<(), SecretsError> {
        retry(
            policy,
            "read app keys",
            SecretsError::is_unavailable,
            || self.app_keys(),
        )
        .await
        .map(drop)
    }

    pub async fn app_keys(&self) -> Result<Arc<AppKeys>, SecretsError> {
        self.app_keys.get(&self.client, &self.breaker).await
    }

    pub async fn signing_keys(&self) -> Result<Arc<KeyRing>, SecretsError> {
        self.signing_keys.get(&self.client, &self.breaker).await
    }

    /// For a token whose `kid` we do not know: the key set may have rotated since we
    /// fetched it. Refetches at most once per `min_interval`, so random kids cannot
    /// turn into a flood of Secrets Manager calls.
    pub async fn refetch_signing_keys(
        &self,
        min_interval: Duration,
    ) -> Result<Arc<KeyRing>, SecretsError> {
        self.signing_keys
            .refetch(&self.client, &self.breaker, min_interval)
            .await
    }
}

/// One uncached read, for values used once at start (database credentials).
pub async fn fetch<T: FromSecret>(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<T, SecretsError> {
    let raw = fetch_string(client, id).await?;
    T::parse(id, raw.expose_secret())
}

async fn fetch_string(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<SecretString, SecretsError> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        // The stage AWS reads by default, named: moto answers a stageless read with the
        // version that was current when the secret was created, even after a rotation.
        .version_stage("AWSCURRENT")
        .send()
        .await
        .map_err(|e| SecretsError::Fetch {
            id: id.to_owned(),
            unavailable: is_aws_fault(&e),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
    output
        .secret_string
        .map(SecretString::from)
        .ok_or_else(|| SecretsError::Malformed {
            id: id.to_owned(),
            reason: "no SecretString (binary secrets are not used)".into(),
        })
}

struct SecretCell<T> {
    id: String,
    ttl: Duration,
    slot: Mutex<Option<(Arc<T>, Instant)>>,
}

impl<T: FromSecret> SecretCell<T> {
    fn new(id: &str, ttl: Duration) -> Self {
        Self {
            id: id.to_owned(),
            ttl,
            slot: Mutex::new(None),
        }
    }

    async fn get(
        &self,
        client: &aws_sdk_secretsmanager::Client,
        breaker: &CircuitBreaker,
    ) -> Result<Arc<T>, SecretsError> {
        self.refetch(client, breaker, self.ttl).await
    }

    /// The cached value if it is younger than `max_age`, else a fresh fetch.
    async fn refetch(
        &self,
        client: &aws_sdk_secretsmanager::Client,
        breaker: &CircuitBreaker,
        max_age: Duration,
    ) -> Result<Arc<T>, SecretsError> {
        // Held across the fetch on purpose: concurrent misses wait for one fetch.
        let mut slot = self.slot.lock().await;
        if let Some((value, fetched)) = slot.as_ref()
            && fetched.elapsed() < max_age
        {
            return Ok(value.clone());
        }
        let fresh = match breaker
            .guard(fetch_string(client, &self.id), SecretsError::is_unavailable)
            .await
        {
            Ok(raw) => T::parse(&self.id, raw.expose_secret()),
            Err(Guarded::Open(dependency)) => Err(SecretsError::Fetch {
                id: self.id.clone(),
                reason: format!("the {dependency} circuit breaker is open"),
                unavailable: true,
            }),
            Err(Guarded::Failed(error)) => Err(error),
        };
        match (fresh, slot.as_mut()) {
            (Ok(value), _) => {
                let value = Arc::new(value);
                *slot = Some((value.clone(), Instant::now()));
                Ok(value)
            }
            (Err(error), Some((stale, fetched))) => {
                tracing::warn!(secretId = %self.id, error = %error, "secret refresh failed; serving the cached copy");
                // Try again after another TTL rather than on every request.
                *fetched = Instant::now();
                Ok(stale.clone())
            }
            (Err(error), None) => Err(error),
        }
    }
}

/// An HMAC key of at least [`MIN_KEY_BYTES`]; never printed.
pub struct HmacKey(SecretSlice<u8>);

impl HmacKey {
    fn decode(id: &str, field: &'static str, encoded: &SecretString) -> Result<Self, SecretsError> {
        let bytes = STANDARD
            .decode(encoded.expose_secret().trim())
            .map_err(|_| malformed(id, format!("{field} is not base64")))?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(SecretsError::WeakKey {
                id: id.to_owned(),
                field,
                bytes: bytes.len(),
            });
        }
        Ok(Self(bytes.into()))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// A key for another purpose, HMAC(self, label): tokens signed with one key can
    /// never pass for the other's.
    pub fn derive(&self, label: &[u8]) -> Self {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.expose());
        Self(aws_lc_rs::hmac::sign(&key, label).as_ref().to_vec().into())
    }
}

/// The symmetric keys: refresh-token (and MFA-token) signing, CSRF tokens, list
/// cursors, TOTP-secret encryption (AES-256-GCM), backup-code hashing; and, derived so
/// deployed secrets need no new field: consistency tokens (from the cursor key: both
/// sign positions a client only hands back), mailed-link tokens' stored hashes (from
/// the backup-code key: both hash one-time secrets) and the sealing of those tokens in
/// mail jobs (from the TOTP key: both encrypt secrets at rest).
pub struct AppKeys {
    pub refresh: HmacKey,
    pub csrf: HmacKey,
    pub cursor: HmacKey,
    pub totp: HmacKey,
    pub backup_codes: HmacKey,
    pub consistency: HmacKey,
    pub email_tokens: HmacKey,
    pub mail_seal: HmacKey,
}

impl FromSecret for AppKeys {
    fn parse(id: &str, raw: &str) -> Result<Self, SecretsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Raw {
            refresh_key: SecretString,
            csrf_key: SecretString,
            cursor_key: SecretString,
            totp_key: SecretString,
            backup_code_key: SecretString,
        }
        let raw: Raw = serde_json::from_str(raw).map_err(|e| malformed(id, e))?;
        let refresh = HmacKey::decode(id, "refreshKey", &raw.refresh_key)?;
        let csrf = HmacKey::decode(id, "csrfKey", &raw.csrf_key)?;
        let cursor = HmacKey::decode(id, "cursorKey", &raw.cursor_key)?;
        let totp = HmacKey::decode(id, "totpKey", &raw.totp_key)?;
        let backup_codes = HmacKey::decode(id, "backupCodeKey", &raw.backup_code_key)?;
        Ok(Self {
            refresh,
            csrf,
            consistency: cursor.derive(b"blue-harvest/consistency-token/v1"),
            cursor,
            email_tokens: backup_codes.derive(b"blue-harvest/email-token/v1"),
            mail_seal: totp.derive(b"blue-harvest/mail-seal/v1"),
            totp,
            backup_codes,
        })
    }
}

/// The RDS-managed database secret (only the fields used).
impl FromSecret for crate::db::Credentials {
    fn parse(id: &str, raw: &str) -> Result<Self, SecretsError> {
        #[derive(Deserialize)]
        struct Raw {
            username: String,
            password: SecretString,
        }
        let Raw { username, password } = serde_json::from_str(raw).map_err(|e| malformed(id, e))?;
        Ok(Self { username, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(len: usize) -> String {
        STANDARD.encode(vec![7u8; len])
    }

    fn app_keys_json(refresh_len: usize) -> String {
        serde_json::json!({
            "refreshKey": b64(refresh_len),
            "csrfKey": b64(32),
            "cursorKey": b64(48),
            "totpKey": b64(32),
            "backupCodeKey": b64(32),
        })
        .to_string()
    }

    #[test]
    fn app_keys_of_32_bytes_or_more_are_accepted() {
        let keys = AppKeys::parse("ak", &app_keys_json(32));
        assert_eq!(keys.map(|k| k.cursor.expose().len()).ok(), Some(48));
    }

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused_by_name() {
        match AppKeys::parse("ak", &app_keys_json(31)) {
            Err(SecretsError::WeakKey { field, bytes, .. }) => {
                assert_eq!((field, bytes), ("refreshKey", 31))
            }
            other => panic!("expected WeakKey, got {:?}", other.err()),
        }
    }

    #[test]
    fn malformed_app_keys_never_echo_the_secret() {
        let raw = r#"{"refreshKey": "c2VjcmV0LXZhbHVl!!", "csrfKey": "x", "cursorKey": "y", "totpKey": "z", "backupCodeKey": "w"}"#;
        let err = AppKeys::parse("ak", raw)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("refreshKey is not base64"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }
}
