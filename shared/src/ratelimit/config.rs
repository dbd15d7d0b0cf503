//! Rate-limit settings: the tiers, the backoffs and the block ladder.

use std::time::Duration;

use crate::config::{ConfigError, Env};

/// One tier: at most `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub global: TierLimit,
    pub auth: TierLimit,
    pub write: TierLimit,
    pub sensitive: TierLimit,
    /// Mail-sending routes (forgot password, verification resend), by account or IP.
    pub mail: TierLimit,
    /// Mail-sending routes, by the address a mail would go to.
    pub mail_address: TierLimit,
    /// Post creation, by role: user, moderator, admin (same window).
    pub post_create_user: TierLimit,
    pub post_create_moderator: TierLimit,
    pub post_create_admin: TierLimit,
    /// Tiers that answer 503 when DynamoDB cannot decide; the others let requests through.
    pub fail_closed: Vec<String>,
    /// IP block durations for a first, second, ... offence within `offence_window`
    /// (an offence: the auth tier rejecting an IP, i.e. more failures than it allows).
    pub block_ladder: Vec<Duration>,
    pub offence_window: Duration,
    /// A lease (units an instance reserves at once) is at most a tier's limit divided
    /// by this; a divisor at least the limit makes every request its own write.
    pub lease_divisor: u32,
    /// Passwords tried per account (login and re-authentication; a name no account
    /// has counts by itself): 2^(n - free) s after `free` failures.
    pub login_backoff: BackoffPolicy,
    /// Second-factor codes tried per account, across MFA tokens.
    pub second_factor_backoff: BackoffPolicy,
}

/// A backoff counter: `free` attempts, then each attempt waits `base × 2^(n - free)`
/// after the previous one (at most `max`); a counter untouched for `forget_after`
/// starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub free: u32,
    pub base: Duration,
    pub max: Duration,
    pub forget_after: Duration,
}

impl BackoffPolicy {
    /// The wait before the next attempt once `attempts` were counted, if any.
    pub fn wait_after(&self, attempts: u32) -> Option<Duration> {
        let over = attempts.checked_sub(self.free)?;
        let factor = 2_u32.checked_pow(over).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }
}

impl RateLimitConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let tier = |var_max: &'static str, var_window: &'static str, max: u32, window: u64| {
            Ok::<_, ConfigError>(TierLimit {
                max: env.positive(var_max, max)?,
                window: Duration::from_secs(env.positive(var_window, window)?),
            })
        };
        let post_window =
            Duration::from_secs(env.positive("RATE_LIMIT_POST_CREATE_WINDOW_SECONDS", 60)?);
        let post = |var: &'static str, max: u32| {
            Ok::<_, ConfigError>(TierLimit {
                max: env.positive(var, max)?,
                window: post_window,
            })
        };
        let fail_closed = match env.get("RATE_LIMIT_FAIL_CLOSED") {
            Some(_) => env.list("RATE_LIMIT_FAIL_CLOSED"),
            None => vec!["auth".into(), "sensitive".into()],
        };
        let block_ladder = match env.get("BRUTE_FORCE_BLOCK_LADDER_SECONDS") {
            None => vec![60, 600, 3600, 86_400],
            Some(_) => env
                .list("BRUTE_FORCE_BLOCK_LADDER_SECONDS")
                .iter()
                .map(|step| step.parse::<u64>().ok().filter(|s| *s > 0))
                .collect::<Option<Vec<_>>>()
                .filter(|ladder| !ladder.is_empty())
                .ok_or(ConfigError::Invalid {
                    var: "BRUTE_FORCE_BLOCK_LADDER_SECONDS",
                    reason: "a comma-separated list of positive seconds".into(),
                })?,
        };
        Ok(Self {
            block_ladder: block_ladder.into_iter().map(Duration::from_secs).collect(),
            offence_window: Duration::from_secs(
                env.positive("BRUTE_FORCE_OFFENCE_WINDOW_SECONDS", 86_400)?,
            ),
            lease_divisor: env.positive("RATE_LIMIT_LEASE_DIVISOR", 16)?,
            login_backoff: BackoffPolicy {
                free: env.positive("ACCOUNT_BACKOFF_AFTER_FAILURES", 5)?,
                base: Duration::from_secs(1),
                max: Duration::from_secs(env.positive("ACCOUNT_BACKOFF_MAX_SECONDS", 900)?),
                // As long as a failed login was ever remembered (its item's TTL).
                forget_after: Duration::from_secs(86_400),
            },
            second_factor_backoff: BackoffPolicy {
                free: env.positive("MFA_ACCOUNT_MAX_FAILURES", 10)?,
                base: Duration::from_secs(env.positive("MFA_ACCOUNT_BACKOFF_BASE_SECONDS", 5)?),
                max: Duration::from_secs(env.positive("MFA_ACCOUNT_BACKOFF_MAX_SECONDS", 900)?),
                forget_after: Duration::from_secs(env.positive("MFA_ACCOUNT_WINDOW_SECONDS", 900)?),
            },
            global: tier(
                "RATE_LIMIT_GLOBAL_MAX",
                "RATE_LIMIT_GLOBAL_WINDOW_SECONDS",
                100,
                60,
            )?,
            auth: tier(
                "RATE_LIMIT_AUTH_MAX",
                "RATE_LIMIT_AUTH_WINDOW_SECONDS",
                5,
                900,
            )?,
            write: tier(
                "RATE_LIMIT_WRITE_MAX",
                "RATE_LIMIT_WRITE_WINDOW_SECONDS",
                20,
                60,
            )?,
            sensitive: tier(
                "RATE_LIMIT_SENSITIVE_MAX",
                "RATE_LIMIT_SENSITIVE_WINDOW_SECONDS",
                10,
                3600,
            )?,
            mail: tier(
                "RATE_LIMIT_MAIL_MAX",
                "RATE_LIMIT_MAIL_WINDOW_SECONDS",
                10,
                3600,
            )?,
            mail_address: tier(
                "RATE_LIMIT_MAIL_ADDRESS_MAX",
                "RATE_LIMIT_MAIL_ADDRESS_WINDOW_SECONDS",
                3,
                3600,
            )?,
            post_create_user: post("RATE_LIMIT_POST_CREATE_USER_MAX", 10)?,
            post_create_moderator: post("RATE_LIMIT_POST_CREATE_MODERATOR_MAX", 50)?,
            post_create_admin: post("RATE_LIMIT_POST_CREATE_ADMIN_MAX", 100)?,
            fail_closed,
        })
    }
}
