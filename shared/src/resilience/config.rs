//! Resilience settings: circuit breakers, retries, the slow-query threshold.

use std::time::Duration;

use crate::config::{ConfigError, Env};

/// Circuit breakers, retries and the slow-query threshold, shared by every dependency.
#[derive(Debug, Clone)]
pub struct ResilienceConfig {
    /// Consecutive failures that open a dependency's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before letting trial calls through.
    pub breaker_open_for: Duration,
    /// Successful trial calls that close it again.
    pub breaker_successes: u32,
    pub retry: RetryPolicy,
    /// Statements slower than this are logged with their SQL text (never the values).
    pub slow_query: Duration,
}

/// Exponential backoff with full jitter: before retry `n` (from 0) a random wait in
/// `[0, min(max_delay, base_delay × 2ⁿ)]`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl ResilienceConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            breaker_failures: env.positive("BREAKER_FAILURES", 5)?,
            breaker_open_for: Duration::from_secs(env.positive("BREAKER_OPEN_SECONDS", 60)?),
            breaker_successes: env.positive("BREAKER_SUCCESSES", 2)?,
            retry: RetryPolicy {
                max_attempts: env.positive("RETRY_MAX_ATTEMPTS", 3)?,
                base_delay: env.millis_or("RETRY_BASE_DELAY_MS", 50)?,
                max_delay: env.millis_or("RETRY_MAX_DELAY_MS", 1_000)?,
            },
            slow_query: env.millis_or("SLOW_QUERY_MS", 1_000)?,
        })
    }
}
