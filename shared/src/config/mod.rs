//! Configuration from the environment, parsed once at start. [`Config`] composes the
//! sections, each kept beside its users (`db/config.rs`, `auth/config.rs`,
//! `ratelimit/config.rs`, ...) and read through one [`Env`].
//!
//! Every value has a documented default (README, "Configuration") except the ones that
//! name deployment resources. A missing or malformed value stops the function at start
//! with an error naming the variable, so a bad deploy fails loudly instead of serving.

mod env;
mod settings;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use env::{ConfigError, Env};
pub use settings::{Exposure, REGISTRY, Setting, SettingInForce, Source, settings};

use crate::{
    auth::config::AuthConfig, db::config::DatabaseConfig, http::config::HttpConfig,
    mail::config::MailConfig, ratelimit::config::RateLimitConfig,
    resilience::config::ResilienceConfig, secrets::config::SecretsConfig,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub tables: Tables,
    pub secrets: SecretsConfig,
    pub http: HttpConfig,
    pub health: HealthConfig,
    pub aws: AwsConfig,
    pub auth: AuthConfig,
    pub rate_limits: RateLimitConfig,
    pub resilience: ResilienceConfig,
    pub mail: MailConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(&[])
    }

    /// The process environment, with `overrides` taking precedence (tests, tools).
    pub fn from_env_with(overrides: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let lookup = |var: &str| {
            overrides
                .iter()
                .find(|(name, _)| *name == var)
                .map(|(_, value)| (*value).to_owned())
                .or_else(|| std::env::var(var).ok())
        };
        Self::load(&Env::new(&lookup))
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            database: DatabaseConfig::load(env)?,
            tables: Tables::load(env)?,
            secrets: SecretsConfig::load(env)?,
            http: HttpConfig::load(env)?,
            health: HealthConfig::load(env)?,
            aws: AwsConfig::load(env)?,
            auth: AuthConfig::load(env)?,
            rate_limits: RateLimitConfig::load(env)?,
            resilience: ResilienceConfig::load(env)?,
            mail: MailConfig::load(env)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Tables {
    pub rate_limits: String,
    pub token_families: String,
}

impl Tables {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            rate_limits: env.required("RATE_LIMIT_TABLE")?,
            token_families: env.required("TOKEN_FAMILIES_TABLE")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Upper bound on each dependency check so health answers well before API Gateway's 30 s.
    pub check_timeout: Duration,
}

impl HealthConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            check_timeout: env.millis_or("HEALTH_CHECK_TIMEOUT_MS", 2_000)?,
        })
    }
}

/// Per-call bounds on AWS SDK calls, so a slow dependency cannot eat the Lambda's time;
/// and the endpoints, set only locally (unset in AWS).
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The SDK's own variables: `AWS_ENDPOINT_URL` for every service, and a service's
    /// `AWS_ENDPOINT_URL_<SERVICE>` before it (locally: DynamoDB on its emulator, the
    /// rest on moto). The SDK reads them itself; they are also read here so a test can
    /// point one service elsewhere through the configuration.
    pub endpoint_url: Option<String>,
    pub dynamodb_endpoint_url: Option<String>,
    pub secrets_manager_endpoint_url: Option<String>,
    pub connect_timeout: Duration,
    pub attempt_timeout: Duration,
    /// Bounds all attempts of one call together.
    pub operation_timeout: Duration,
    /// Attempts per idempotent call (the SDK's standard mode: exponential backoff with
    /// full jitter); calls that may not be repeated make one.
    pub max_attempts: u32,
    /// The first retry's backoff bound (the SDK's default is 1 s): a request waits for
    /// its calls, so a service that refuses connections must fail it in tenths of a
    /// second, not seconds.
    pub retry_initial_backoff: Duration,
}

impl AwsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    /// A service's endpoint as the SDK would pick it from these variables: its own,
    /// else the global one, else none (AWS's).
    pub fn service_endpoint(&self, service: &Option<String>) -> Option<String> {
        service.clone().or_else(|| self.endpoint_url.clone())
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            endpoint_url: env.get("AWS_ENDPOINT_URL"),
            dynamodb_endpoint_url: env.get("AWS_ENDPOINT_URL_DYNAMODB"),
            secrets_manager_endpoint_url: env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
            connect_timeout: env.millis_or("AWS_CONNECT_TIMEOUT_MS", 1_000)?,
            attempt_timeout: env.millis_or("AWS_ATTEMPT_TIMEOUT_MS", 2_000)?,
            operation_timeout: env.millis_or("AWS_OPERATION_TIMEOUT_MS", 5_000)?,
            max_attempts: env.positive("AWS_MAX_ATTEMPTS", 3)?,
            retry_initial_backoff: env.millis_or("AWS_RETRY_INITIAL_BACKOFF_MS", 100)?,
        })
    }
}
