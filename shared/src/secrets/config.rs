//! Secrets Manager settings: the secrets' ids and how long they are cached.

use std::time::Duration;

use crate::config::{ConfigError, Env};

#[derive(Debug, Clone)]
pub struct SecretsConfig {
    /// JSON key set: `{"keys": [{"kid", "privateKeyPem", "status": "current"|"previous"}]}`.
    pub signing_keys_id: String,
    /// JSON: `{"refreshKey", "csrfKey", "cursorKey", "totpKey", "backupCodeKey"}`, each
    /// base64 of at least 32 bytes.
    pub app_keys_id: String,
    pub cache_ttl: Duration,
}

impl SecretsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            signing_keys_id: env.required("SIGNING_KEYS_SECRET_ID")?,
            app_keys_id: env.required("APP_KEYS_SECRET_ID")?,
            cache_ttl: Duration::from_secs(env.positive("SECRETS_CACHE_TTL_SECONDS", 300)?),
        })
    }
}
