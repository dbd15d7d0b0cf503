//! Auth settings: token lifetimes, password hashing cost and policy.

use std::time::Duration;

use crate::config::{ConfigError, Env};

/// Token lifetimes, password hashing cost and password policy.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long the parent of the current refresh token may be presented again and get
    /// the current child back (parallel tabs) instead of revoking the family.
    pub refresh_reuse_interval: Duration,
    /// Clock skew tolerated on `exp`/`nbf`; at most 30 s.
    pub leeway: Duration,
    /// An unknown `kid` refetches the key set at most this often.
    pub key_refetch_interval: Duration,
    pub argon2: Argon2Config,
    pub password: PasswordPolicy,
    /// TOTP codes accepted this many 30 s steps either side of now.
    pub totp_skew_steps: u8,
    /// How long after a one-time-password sign-in sensitive operations stay allowed.
    pub step_up_max_age: Duration,
    pub mfa_token_ttl: Duration,
    pub mfa_max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub output_len: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// zxcvbn score, 0 to 4.
    pub min_score: u8,
    /// The seed's upper/lower/digit/special rule; off by default (NIST SP 800-63B).
    pub require_composition: bool,
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let leeway: u64 = env.parsed_or("JWT_LEEWAY_SECONDS", 30)?;
        if leeway > 30 {
            return Err(ConfigError::Invalid {
                var: "JWT_LEEWAY_SECONDS",
                reason: "at most 30".into(),
            });
        }
        let min_score: u8 = env.parsed_or("PASSWORD_MIN_SCORE", 3)?;
        if min_score > 4 {
            return Err(ConfigError::Invalid {
                var: "PASSWORD_MIN_SCORE",
                reason: "zxcvbn scores run from 0 to 4".into(),
            });
        }
        Ok(Self {
            access_token_ttl: Duration::from_secs(env.positive("ACCESS_TOKEN_TTL_SECONDS", 900)?),
            refresh_token_ttl: Duration::from_secs(
                env.positive("REFRESH_TOKEN_TTL_SECONDS", 7 * 24 * 3600)?,
            ),
            refresh_reuse_interval: Duration::from_secs(
                env.parsed_or("REFRESH_REUSE_INTERVAL_SECONDS", 10)?,
            ),
            leeway: Duration::from_secs(leeway),
            key_refetch_interval: Duration::from_secs(
                env.parsed_or("SIGNING_KEYS_REFETCH_SECONDS", 30)?,
            ),
            argon2: Argon2Config {
                memory_kib: env.positive("ARGON2_MEMORY_KIB", 65_536)?,
                iterations: env.positive("ARGON2_ITERATIONS", 3)?,
                parallelism: env.positive("ARGON2_PARALLELISM", 4)?,
                output_len: env.positive("ARGON2_OUTPUT_LEN", 32)?,
            },
            totp_skew_steps: env.parsed_or("TOTP_SKEW_STEPS", 1)?,
            step_up_max_age: Duration::from_secs(env.positive("STEP_UP_MAX_AGE_SECONDS", 900)?),
            mfa_token_ttl: Duration::from_secs(env.positive("MFA_TOKEN_TTL_SECONDS", 300)?),
            mfa_max_attempts: env.positive("MFA_MAX_ATTEMPTS", 5)?,
            password: PasswordPolicy {
                min_length: env.positive("PASSWORD_MIN_LENGTH", 12)?,
                max_length: env.positive("PASSWORD_MAX_LENGTH", 128)?,
                min_score,
                require_composition: env.parsed_or("PASSWORD_REQUIRE_COMPOSITION", false)?,
            },
        })
    }
}
