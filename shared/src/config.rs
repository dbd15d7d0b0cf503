//! Configuration from the environment, parsed once at start.
//!
//! Every value has a documented default (README, "Configuration") except the ones that
//! name deployment resources. A missing or malformed value stops the function at start
//! with an error naming the variable, so a bad deploy fails loudly instead of serving.

use std::{cell::RefCell, fmt::Display, net::IpAddr, str::FromStr, time::Duration};

use http::HeaderValue;
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Serialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Where configuration values come from: the process environment in production, a map
/// in unit tests. It also notes every variable it is asked for, with the default the
/// caller would use, which is how [`settings`] knows every setting without a list
/// kept by hand.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// (variable, default shown) in the order first read.
    read: RefCell<Vec<(&'static str, Option<String>)>>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            read: RefCell::default(),
        }
    }

    fn note(&self, var: &'static str, default: Option<String>) {
        let mut read = self.read.borrow_mut();
        match read.iter_mut().find(|(name, _)| *name == var) {
            Some((_, known)) => {
                if known.is_none() {
                    *known = default;
                }
            }
            None => read.push((var, default)),
        }
    }

    fn get(&self, var: &'static str) -> Option<String> {
        self.note(var, None);
        (self.lookup)(var).filter(|value| !value.trim().is_empty())
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or(ConfigError::Missing(var))
    }

    fn parsed_or<T: FromStr + Display>(
        &self,
        var: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.note(var, Some(default.to_string()));
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    var,
                    reason: e.to_string(),
                }),
        }
    }

    fn millis_or(&self, var: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
        self.parsed_or(var, default_ms).map(Duration::from_millis)
    }

    fn positive<T: FromStr + PartialOrd + Default + Display>(
        &self,
        var: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.parsed_or(var, default)?;
        if value <= T::default() {
            return Err(ConfigError::Invalid {
                var,
                reason: "must be greater than zero".into(),
            });
        }
        Ok(value)
    }

    fn list(&self, var: &'static str) -> Vec<String> {
        self.get(var)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

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

/// Mailed links and the mail job queue, as the API functions use them (the mailer's
/// own settings are in `functions/mailer`).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `MAIL_QUEUE_URL`: the SQS queue of mail jobs. Unset, a request leaves its jobs in
    /// the outbox for the outbox-relay function instead of sending them itself.
    pub queue_url: Option<String>,
    /// Lifetime of a password-reset link.
    pub password_reset_ttl: Duration,
    /// Lifetime of an email verification or email-change link.
    pub email_link_ttl: Duration,
    /// `POST /api/auth/password/forgot` answers no sooner than this after it started,
    /// whether or not the address has an account, so its timing tells nothing.
    pub forgot_response_time: Duration,
    /// When true, creating or editing posts and comments needs a verified address.
    pub require_verified_email: bool,
}

impl MailConfig {
    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            queue_url: env.get("MAIL_QUEUE_URL"),
            password_reset_ttl: Duration::from_secs(
                env.positive("PASSWORD_RESET_TTL_SECONDS", 1_800)?,
            ),
            email_link_ttl: Duration::from_secs(env.positive("EMAIL_LINK_TTL_SECONDS", 86_400)?),
            forgot_response_time: env.millis_or("PASSWORD_FORGOT_RESPONSE_MS", 400)?,
            require_verified_email: env.parsed_or("REQUIRE_VERIFIED_EMAIL", false)?,
        })
    }
}

/// The mailer function's settings (`functions/mailer`): what it sends from, where its
/// links point, its idempotency table and its retry backoff.
#[derive(Debug, Clone)]
pub struct MailerConfig {
    /// `MAIL_FROM`: the sender, an address of the SES identity (`no-reply@example.com`
    /// or `Blue Harvest <no-reply@example.com>`).
    pub from: String,
    /// `MAIL_LINK_BASE_URL`: the page that completes a link (`#reset=<token>` or
    /// `#verify=<token>` is appended; the token stays in the fragment, which browsers
    /// never send to a server or in a Referer).
    pub link_base_url: String,
    /// `MAIL_DELIVERIES_TABLE`: DynamoDB table of sent markers, one per job id.
    pub deliveries_table: String,
    /// `MAIL_QUEUE_URL`: the queue whose failed messages get a longer visibility timeout.
    pub queue_url: String,
    /// A failed message is retried after `base × 2^(receives - 1)`, at most `max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// `AWS_ENDPOINT_URL_SESV2`: SES elsewhere than the other services (the local
    /// stack's SES-only moto); unset in AWS.
    pub ses_endpoint_url: Option<String>,
}

impl MailerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let from = env.required("MAIL_FROM")?;
        if !from.contains('@') || from.contains(['\r', '\n']) {
            return Err(ConfigError::Invalid {
                var: "MAIL_FROM",
                reason: "an address, or Name <address>, on one line".into(),
            });
        }
        let link_base_url = env.required("MAIL_LINK_BASE_URL")?;
        if !(link_base_url.starts_with("https://") || link_base_url.starts_with("http://"))
            || link_base_url.contains(['#', ' ', '"', '<', '>'])
        {
            return Err(ConfigError::Invalid {
                var: "MAIL_LINK_BASE_URL",
                reason: "an absolute http(s) URL without a fragment".into(),
            });
        }
        let retry_base = Duration::from_secs(env.positive("MAIL_RETRY_BASE_SECONDS", 30)?);
        let retry_max = Duration::from_secs(env.positive("MAIL_RETRY_MAX_SECONDS", 900)?);
        // SQS refuses a visibility timeout above 12 hours.
        if retry_max > Duration::from_secs(12 * 3600) || retry_base > retry_max {
            return Err(ConfigError::Invalid {
                var: "MAIL_RETRY_MAX_SECONDS",
                reason: "at least MAIL_RETRY_BASE_SECONDS and at most 43200 (12 hours)".into(),
            });
        }
        Ok(Self {
            from,
            link_base_url,
            deliveries_table: env.required("MAIL_DELIVERIES_TABLE")?,
            queue_url: env.required("MAIL_QUEUE_URL")?,
            retry_base,
            retry_max,
            ses_endpoint_url: env.get("AWS_ENDPOINT_URL_SESV2"),
        })
    }
}

/// The outbox-relay function's settings.
#[derive(Debug, Clone)]
pub struct OutboxRelayConfig {
    pub queue_url: String,
    /// Rows younger than this are left to the request that wrote them.
    pub relay_after: Duration,
}

impl OutboxRelayConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |var: &str| std::env::var(var).ok();
        let env = Env::new(&lookup);
        Ok(Self {
            queue_url: env.required("MAIL_QUEUE_URL")?,
            relay_after: Duration::from_secs(env.positive("OUTBOX_RELAY_AFTER_SECONDS", 60)?),
        })
    }
}

/// How to reach PostgreSQL: two URLs (local stack, or any plain deployment), or the RDS
/// Proxy read/write and read-only endpoints.
#[derive(Debug, Clone)]
pub enum DatabaseEndpoints {
    Urls {
        writer: SecretString,
        reader: SecretString,
    },
    Proxy {
        writer_host: String,
        reader_host: String,
        port: u16,
        database: String,
    },
}

/// Where the database credentials come from; they may change under a running instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseAuth {
    /// The URLs' own user and password.
    Url,
    /// A Secrets Manager secret `{username, password}` (RDS rotates it): re-read when
    /// the server refuses the password.
    Secret { id: String },
    /// IAM database authentication: a token signed with the function's role for each
    /// new connection, no password anywhere.
    Iam { user: String },
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub endpoints: DatabaseEndpoints,
    pub auth: DatabaseAuth,
    /// Per pool. RDS Proxy does the real pooling, so each instance keeps very few.
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    /// Replica lag above which reads go to the writer and health reports degraded.
    pub replica_max_lag: Duration,
    /// How long reads stay on the writer after the reader failed or lagged.
    pub reader_retry_after: Duration,
    /// Read-your-writes where the replica cannot report its replay position (Aurora):
    /// a client's reads this soon after its write go to the writer.
    pub read_your_writes_window: Duration,
    /// How long a consistency token counts (it routes reads to the writer only while
    /// the replica is behind it, and at most this long).
    pub consistency_token_ttl: Duration,
}

impl DatabaseConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let endpoints = match env.get("DATABASE_URL") {
            Some(writer) => DatabaseEndpoints::Urls {
                writer: writer.into(),
                reader: env.required("DATABASE_URL_REPLICA")?.into(),
            },
            None if env.get("DB_WRITER_HOST").is_some() => DatabaseEndpoints::Proxy {
                writer_host: env.required("DB_WRITER_HOST")?,
                reader_host: env.required("DB_READER_HOST")?,
                port: env.positive("DB_PORT", 5432)?,
                database: env.required("DB_NAME")?,
            },
            None => return Err(ConfigError::Missing("DATABASE_URL")),
        };
        let auth = match (env.get("DB_IAM_USER"), env.get("DB_SECRET_ID")) {
            (Some(user), _) => DatabaseAuth::Iam { user },
            (None, Some(id)) => DatabaseAuth::Secret { id },
            (None, None) if matches!(endpoints, DatabaseEndpoints::Urls { .. }) => {
                DatabaseAuth::Url
            }
            // The proxy endpoints carry no credentials of their own.
            (None, None) => return Err(ConfigError::Missing("DB_SECRET_ID")),
        };
        Ok(Self {
            endpoints,
            auth,
            max_connections: env.positive("DB_MAX_CONNECTIONS", 2)?,
            acquire_timeout: env.millis_or("DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
            statement_timeout: env.millis_or("DB_STATEMENT_TIMEOUT_MS", 5_000)?,
            replica_max_lag: Duration::from_secs(env.positive("REPLICA_MAX_LAG_SECONDS", 30)?),
            reader_retry_after: env.millis_or("READER_RETRY_AFTER_MS", 5_000)?,
            read_your_writes_window: env.millis_or("READ_YOUR_WRITES_WINDOW_MS", 2_000)?,
            consistency_token_ttl: Duration::from_secs(
                env.positive("CONSISTENCY_TOKEN_TTL_SECONDS", 60)?,
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Tables {
    pub rate_limits: String,
    pub token_families: String,
}

impl Tables {
    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            rate_limits: env.required("RATE_LIMIT_TABLE")?,
            token_families: env.required("TOKEN_FAMILIES_TABLE")?,
        })
    }
}

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
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
    }

    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            signing_keys_id: env.required("SIGNING_KEYS_SECRET_ID")?,
            app_keys_id: env.required("APP_KEYS_SECRET_ID")?,
            cache_ttl: Duration::from_secs(env.positive("SECRETS_CACHE_TTL_SECONDS", 300)?),
        })
    }
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Exact origins allowed by CORS; empty allows no cross-origin caller.
    pub allowed_origins: Vec<HeaderValue>,
    pub max_body_bytes: usize,
    /// Peers whose X-Forwarded-For is believed; nobody else's is.
    pub trusted_proxies: Vec<IpNet>,
    /// A request still running after this answers 503 (API Gateway gives up at 30 s).
    pub request_timeout: Duration,
    /// Kept back from the Lambda's remaining time, so the 503 is sent before the
    /// runtime kills the invocation.
    pub deadline_margin: Duration,
}

impl HttpConfig {
    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let allowed_origins = env
            .list("ALLOWED_ORIGINS")
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<_, _>>()?;
        let trusted_proxies = env
            .list("TRUSTED_PROXIES")
            .iter()
            .map(|entry| parse_network(entry))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed_origins,
            max_body_bytes: env.positive("MAX_BODY_BYTES", 1024 * 1024)?,
            trusted_proxies,
            request_timeout: env.millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
            deadline_margin: env.millis_or("DEADLINE_MARGIN_MS", 500)?,
        })
    }
}

/// An origin is `scheme://host[:port]` exactly; a wildcard would defeat credentialed CORS.
fn parse_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        var: "ALLOWED_ORIGINS",
        reason: format!("{origin:?}: {reason}"),
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '*', '?', '#', ' ']) {
        return Err(invalid(
            "must be scheme://host[:port] with no path or wildcard",
        ));
    }
    HeaderValue::from_str(origin).map_err(|_| invalid("not a valid header value"))
}

fn parse_network(entry: &str) -> Result<IpNet, ConfigError> {
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            var: "TRUSTED_PROXIES",
            reason: format!("{entry:?} is not an IP address or CIDR block"),
        })
}

#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Upper bound on each dependency check so health answers well before API Gateway's 30 s.
    pub check_timeout: Duration,
}

impl HealthConfig {
    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
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
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
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
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
    }

    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
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
    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
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
        let lookup = |var: &str| std::env::var(var).ok();
        Self::load(&Env::new(&lookup))
    }

    fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
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

/// How `GET /api/admin/system/config` shows a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// As it is.
    Plain,
    /// Never shown: only whether it is set.
    Secret,
    /// A connection URL: shown with its password (and password-like query parameters)
    /// replaced.
    Url,
}

/// What [`Env`] cannot learn by itself about a setting: a default the code computes
/// (lists), a variable read outside this module, or a value that must not be shown.
/// Everything else (every variable `Config::load` reads, with its default) is found
/// by recording what `Config::load` asks for, so a new setting needs no entry here
/// unless one of those applies.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub var: &'static str,
    pub default: Option<&'static str>,
    pub exposure: Exposure,
}

const fn setting(var: &'static str, default: Option<&'static str>, exposure: Exposure) -> Setting {
    Setting {
        var,
        default,
        exposure,
    }
}

pub const REGISTRY: &[Setting] = &[
    // Connection URLs carry the database password.
    setting("DATABASE_URL", None, Exposure::Url),
    setting("DATABASE_URL_REPLICA", None, Exposure::Url),
    setting("AWS_ENDPOINT_URL", None, Exposure::Url),
    // Defaults the code builds as lists.
    setting(
        "RATE_LIMIT_FAIL_CLOSED",
        Some("auth,sensitive"),
        Exposure::Plain,
    ),
    setting(
        "BRUTE_FORCE_BLOCK_LADDER_SECONDS",
        Some("60,600,3600,86400"),
        Exposure::Plain,
    ),
    // Read outside this module: shared/src/metrics.rs, shared/src/telemetry.rs,
    // functions/partitions (MaintenanceConfig), the AWS SDK.
    setting("METRICS_NAMESPACE", Some("BlueHarvest"), Exposure::Plain),
    setting("RUST_LOG", Some("info"), Exposure::Plain),
    setting("PARTITION_PREMAKE_MONTHS", Some("4"), Exposure::Plain),
    setting("AUDIT_LOG_RETENTION_MONTHS", Some("13"), Exposure::Plain),
    setting("POSTS_RETENTION_MONTHS", Some("none"), Exposure::Plain),
    setting("PARTITION_KEEP_DETACHED", Some("false"), Exposure::Plain),
    setting("AWS_REGION", None, Exposure::Plain),
    // Read by the mailer (MailerConfig) and the outbox relay (OutboxRelayConfig), not
    // by Config::load.
    setting("MAIL_FROM", None, Exposure::Plain),
    setting("MAIL_LINK_BASE_URL", None, Exposure::Url),
    setting("MAIL_DELIVERIES_TABLE", None, Exposure::Plain),
    setting("MAIL_RETRY_BASE_SECONDS", Some("30"), Exposure::Plain),
    setting("MAIL_RETRY_MAX_SECONDS", Some("900"), Exposure::Plain),
    setting("AWS_ENDPOINT_URL_SESV2", None, Exposure::Url),
    setting("OUTBOX_RELAY_AFTER_SECONDS", Some("60"), Exposure::Plain),
];

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SettingSource)]
pub enum Source {
    Default,
    Environment,
}

/// One setting in force: its environment variable and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingInForce {
    pub name: &'static str,
    /// The value in force (the environment's, else the default), redacted where it
    /// could hold a credential; null when unset with no default.
    #[schema(required)]
    pub value: Option<String>,
    pub source: Source,
    #[schema(required)]
    pub default: Option<String>,
    /// True when something was taken out of `value`.
    pub redacted: bool,
}

/// Every setting the functions read, with the value in force and its source, sorted by
/// name; secrets never shown, URLs without their passwords. `lookup` is the
/// environment (`std::env::var`). Fails as the function's start would, on a
/// configuration that does not load.
pub fn settings(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<SettingInForce>, ConfigError> {
    let env = Env::new(lookup);
    Config::load(&env)?;
    let mut read = env.read.into_inner();
    for extra in REGISTRY {
        if !read.iter().any(|(name, _)| *name == extra.var) {
            read.push((extra.var, None));
        }
    }
    let mut settings: Vec<SettingInForce> = read
        .into_iter()
        .map(|(name, recorded)| {
            let registered = REGISTRY.iter().find(|s| s.var == name);
            let default = registered
                .and_then(|s| s.default.map(str::to_owned))
                .or(recorded);
            let exposure = registered.map_or_else(|| exposure_by_name(name), |s| s.exposure);
            let set = lookup(name).filter(|value| !value.trim().is_empty());
            let source = if set.is_some() {
                Source::Environment
            } else {
                Source::Default
            };
            let (value, redacted) = match set.or_else(|| default.clone()) {
                None => (None, false),
                Some(value) => {
                    let (shown, redacted) = redact(&value, exposure);
                    (Some(shown), redacted)
                }
            };
            SettingInForce {
                name,
                value,
                source,
                default,
                redacted,
            }
        })
        .collect();
    settings.sort_by_key(|s| s.name);
    Ok(settings)
}

/// A variable nobody registered is still kept secret when its name says it holds a
/// credential.
fn exposure_by_name(name: &str) -> Exposure {
    let upper = name.to_ascii_uppercase();
    if upper.contains("PASSWORD")
        || upper.ends_with("_KEY")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_SECRET")
    {
        Exposure::Secret
    } else if upper.ends_with("_URL") {
        Exposure::Url
    } else {
        Exposure::Plain
    }
}

const REDACTED: &str = "***";

/// The value as shown, and whether anything was taken out. Any value with a
/// `scheme://user:password@` part loses the password whatever its exposure.
fn redact(value: &str, exposure: Exposure) -> (String, bool) {
    match exposure {
        Exposure::Secret => (REDACTED.to_owned(), true),
        Exposure::Url | Exposure::Plain => {
            let (shown, redacted) = redact_url(value);
            (shown, redacted)
        }
    }
}

/// `postgres://app:pw@host/db?sslpassword=x` -> `postgres://app:***@host/db?sslpassword=***`.
fn redact_url(value: &str) -> (String, bool) {
    let Some(scheme_end) = value.find("://") else {
        return (value.to_owned(), false);
    };
    let (head, rest) = value.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut redacted = false;
    let mut shown = head.to_owned();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(REDACTED);
                    redacted = true;
                }
                None => shown.push_str(userinfo),
            }
            shown.push('@');
            shown.push_str(host);
        }
        None => shown.push_str(authority),
    }
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    shown.push_str(path);
    if let Some(query) = query {
        shown.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _))
                    if exposure_by_name(key) == Exposure::Secret
                        || key.eq_ignore_ascii_case("password") =>
                {
                    redacted = true;
                    format!("{key}={REDACTED}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push_str(&pairs.join("&"));
    }
    (shown, redacted)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |var: &str| map.get(var).cloned();
        Config::load(&Env::new(&lookup))
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://w@127.0.0.1/db"),
        ("DATABASE_URL_REPLICA", "postgres://r@127.0.0.1/db"),
        ("RATE_LIMIT_TABLE", "rl"),
        ("TOKEN_FAMILIES_TABLE", "tf"),
        ("SIGNING_KEYS_SECRET_ID", "sk"),
        ("APP_KEYS_SECRET_ID", "ak"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = MINIMAL.to_vec();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn minimal_environment_gets_documented_defaults() -> Result<(), ConfigError> {
        let config = load(MINIMAL)?;
        assert_eq!(config.database.max_connections, 2);
        assert_eq!(config.database.statement_timeout, Duration::from_secs(5));
        assert_eq!(config.database.replica_max_lag, Duration::from_secs(30));
        assert_eq!(config.http.max_body_bytes, 1_048_576);
        assert!(config.http.allowed_origins.is_empty());
        assert_eq!(config.secrets.cache_ttl, Duration::from_secs(300));
        assert_eq!(config.auth.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.auth.refresh_reuse_interval, Duration::from_secs(10));
        assert_eq!(
            config.auth.argon2,
            Argon2Config {
                memory_kib: 65_536,
                iterations: 3,
                parallelism: 4,
                output_len: 32
            }
        );
        assert_eq!(config.auth.password.min_length, 12);
        let limits = &config.rate_limits;
        assert_eq!(
            (limits.global.max, limits.global.window),
            (100, Duration::from_secs(60))
        );
        assert_eq!(
            (limits.auth.max, limits.auth.window),
            (5, Duration::from_secs(900))
        );
        assert_eq!((limits.write.max, limits.sensitive.max), (20, 10));
        assert_eq!(limits.sensitive.window, Duration::from_secs(3600));
        assert_eq!(
            (
                limits.post_create_user.max,
                limits.post_create_moderator.max,
                limits.post_create_admin.max
            ),
            (10, 50, 100)
        );
        assert_eq!(limits.fail_closed, ["auth", "sensitive"]);
        assert_eq!(
            (limits.mail.max, limits.mail_address.max),
            (10, 3),
            "mail routes: 10 per account or IP, 3 per address, per hour"
        );
        let mail = &config.mail;
        assert_eq!(mail.queue_url, None);
        assert_eq!(
            (
                mail.password_reset_ttl.as_secs(),
                mail.email_link_ttl.as_secs()
            ),
            (1_800, 86_400)
        );
        assert_eq!(mail.forgot_response_time, Duration::from_millis(400));
        assert!(!mail.require_verified_email);
        let ladder: Vec<u64> = limits.block_ladder.iter().map(Duration::as_secs).collect();
        assert_eq!(ladder, [60, 600, 3600, 86_400]);
        assert_eq!(
            limits.login_backoff,
            BackoffPolicy {
                free: 5,
                base: Duration::from_secs(1),
                max: Duration::from_secs(900),
                forget_after: Duration::from_secs(86_400),
            }
        );
        assert_eq!(
            limits.second_factor_backoff,
            BackoffPolicy {
                free: 10,
                base: Duration::from_secs(5),
                max: Duration::from_secs(900),
                forget_after: Duration::from_secs(900),
            }
        );
        match config.database.endpoints {
            DatabaseEndpoints::Urls { reader, .. } => {
                assert_eq!(reader.expose_secret(), "postgres://r@127.0.0.1/db")
            }
            other => panic!("expected URL endpoints, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for (var, _) in MINIMAL {
            let vars: Vec<_> = MINIMAL.iter().filter(|(k, _)| k != var).copied().collect();
            let err = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(var), "removing {var} gave {err:?}");
        }
    }

    #[test]
    fn blank_value_counts_as_missing() {
        // `with` entries come later, so they override the minimal ones.
        let err = load(&with(&[("RATE_LIMIT_TABLE", "  ")])).err();
        assert_eq!(err, Some(ConfigError::Missing("RATE_LIMIT_TABLE")));
    }

    #[test]
    fn malformed_numbers_name_the_variable() {
        let err = load(&with(&[("DB_MAX_CONNECTIONS", "two")])).err();
        assert!(matches!(
            err,
            Some(ConfigError::Invalid {
                var: "DB_MAX_CONNECTIONS",
                ..
            })
        ));
        let err = load(&with(&[("MAX_BODY_BYTES", "0")])).err();
        assert!(matches!(
            err,
            Some(ConfigError::Invalid {
                var: "MAX_BODY_BYTES",
                ..
            })
        ));
    }

    #[test]
    fn leeway_above_thirty_seconds_is_refused() {
        let err = load(&with(&[("JWT_LEEWAY_SECONDS", "31")])).err();
        assert!(matches!(
            err,
            Some(ConfigError::Invalid {
                var: "JWT_LEEWAY_SECONDS",
                ..
            })
        ));
    }

    #[test]
    fn origins_must_be_exact() {
        let config = load(&with(&[(
            "ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        )]));
        assert_eq!(config.map(|c| c.http.allowed_origins.len()).ok(), Some(2));
        for bad in [
            "*",
            "https://*.example.com",
            "https://a.example/path",
            "ftp://x",
        ] {
            let err = load(&with(&[("ALLOWED_ORIGINS", bad)])).err();
            assert!(
                matches!(
                    err,
                    Some(ConfigError::Invalid {
                        var: "ALLOWED_ORIGINS",
                        ..
                    })
                ),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_blocks() {
        let config = load(&with(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")]));
        assert_eq!(config.map(|c| c.http.trusted_proxies.len()).ok(), Some(2));
        let err = load(&with(&[("TRUSTED_PROXIES", "not-an-ip")])).err();
        assert!(matches!(
            err,
            Some(ConfigError::Invalid {
                var: "TRUSTED_PROXIES",
                ..
            })
        ));
    }

    #[test]
    fn proxy_endpoints_need_every_part() {
        let vars: Vec<_> = MINIMAL
            .iter()
            .filter(|(k, _)| !k.starts_with("DATABASE_URL"))
            .copied()
            .chain([("DB_WRITER_HOST", "proxy"), ("DB_READER_HOST", "proxy-ro")])
            .collect();
        assert_eq!(load(&vars).err(), Some(ConfigError::Missing("DB_NAME")));
    }

    #[test]
    fn the_mailer_needs_its_sender_links_and_table() {
        let vars = |extra: &[(&'static str, &'static str)]| {
            let map: HashMap<String, String> = [
                ("MAIL_FROM", "Blue Harvest <no-reply@example.com>"),
                ("MAIL_LINK_BASE_URL", "https://app.example.com/account"),
                ("MAIL_DELIVERIES_TABLE", "deliveries"),
                ("MAIL_QUEUE_URL", "https://sqs.example/q"),
            ]
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let lookup = move |var: &str| map.get(var).cloned();
            MailerConfig::load(&Env::new(&lookup))
        };
        let config = vars(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (config.retry_base.as_secs(), config.retry_max.as_secs()),
            (30, 900)
        );
        for (var, bad) in [
            ("MAIL_FROM", "nobody"),
            ("MAIL_LINK_BASE_URL", "app.example.com/account"),
            ("MAIL_LINK_BASE_URL", "https://app.example.com/#x"),
            ("MAIL_RETRY_MAX_SECONDS", "50000"),
        ] {
            let err = vars(&[(var, bad)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(var) || err.contains("MAIL_RETRY"),
                "{var}={bad}: {err}"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_database_urls() -> Result<(), ConfigError> {
        let config = load(&with(&[(
            "DATABASE_URL",
            "postgres://app:hunter2-password@db/x",
        )]))?;
        assert!(!format!("{config:?}").contains("hunter2"));
        Ok(())
    }

    fn settings_of(vars: &[(&str, &str)]) -> Vec<SettingInForce> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        settings(&move |var: &str| map.get(var).cloned()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn named<'a>(settings: &'a [SettingInForce], name: &str) -> &'a SettingInForce {
        settings
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} is not among the settings"))
    }

    #[test]
    fn settings_show_values_with_their_source_and_no_password() {
        let settings = settings_of(&with(&[
            (
                "DATABASE_URL",
                "postgres://app:hunter2-password@db:5432/x?sslpassword=s3cret&sslmode=require",
            ),
            ("DB_MAX_CONNECTIONS", "4"),
        ]));
        let url = named(&settings, "DATABASE_URL");
        assert_eq!(
            url.value.as_deref(),
            Some("postgres://app:***@db:5432/x?sslpassword=***&sslmode=require")
        );
        assert!(url.redacted);
        assert_eq!(url.source, Source::Environment);
        let replica = named(&settings, "DATABASE_URL_REPLICA");
        assert_eq!(replica.value.as_deref(), Some("postgres://r@127.0.0.1/db"));
        assert!(!replica.redacted, "no password to take out");
        let pool = named(&settings, "DB_MAX_CONNECTIONS");
        assert_eq!(
            (pool.value.as_deref(), pool.source, pool.default.as_deref()),
            (Some("4"), Source::Environment, Some("2"))
        );
        let timeout = named(&settings, "DB_ACQUIRE_TIMEOUT_MS");
        assert_eq!(
            (timeout.value.as_deref(), timeout.source),
            (Some("2000"), Source::Default)
        );
        let ladder = named(&settings, "BRUTE_FORCE_BLOCK_LADDER_SECONDS");
        assert_eq!(ladder.value.as_deref(), Some("60,600,3600,86400"));
        let origins = named(&settings, "ALLOWED_ORIGINS");
        assert_eq!(
            (origins.value.as_deref(), origins.source),
            (None, Source::Default)
        );
        let text = serde_json::to_string(&settings).unwrap_or_default();
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        let mut names: Vec<_> = settings.iter().map(|s| s.name).collect();
        names.dedup();
        assert_eq!(names.len(), settings.len(), "each setting once, sorted");
    }

    #[test]
    fn credentials_are_hidden_whatever_the_variable() {
        assert_eq!(
            redact("https://u:p@h/x", Exposure::Plain),
            ("https://u:***@h/x".to_owned(), true)
        );
        assert_eq!(
            redact("anything", Exposure::Secret),
            ("***".to_owned(), true)
        );
        assert_eq!(
            redact("http://127.0.0.1:5000", Exposure::Url),
            ("http://127.0.0.1:5000".to_owned(), false)
        );
        assert_eq!(
            redact("https://a.example,https://b.example:8443", Exposure::Plain),
            ("https://a.example,https://b.example:8443".to_owned(), false)
        );
        for name in ["DB_PASSWORD", "SMTP_API_KEY", "SOME_TOKEN", "CLIENT_SECRET"] {
            assert_eq!(exposure_by_name(name), Exposure::Secret, "{name}");
        }
        for name in [
            "SIGNING_KEYS_SECRET_ID",
            "ACCESS_TOKEN_TTL_SECONDS",
            "RUST_LOG",
        ] {
            assert_eq!(exposure_by_name(name), Exposure::Plain, "{name}");
        }
    }

    /// The README's configuration table and what the functions read agree both ways:
    /// an undocumented setting, or a documented one nothing reads, fails here.
    #[test]
    fn every_setting_is_documented_and_every_documented_one_is_read() {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let documented: std::collections::BTreeSet<&str> = table
            .lines()
            .filter(|line| line.starts_with("| `"))
            .filter_map(|line| line.split('|').nth(1))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            // Whole names only, not `<SERVICE>` patterns or `_SUFFIX` fragments.
            .filter(|name| {
                name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        let proxy_form: Vec<_> = MINIMAL
            .iter()
            .filter(|(k, _)| !k.starts_with("DATABASE_URL"))
            .copied()
            .chain([
                ("DB_WRITER_HOST", "proxy"),
                ("DB_READER_HOST", "proxy-ro"),
                ("DB_NAME", "db"),
                ("DB_SECRET_ID", "arn:db"),
            ])
            .collect();
        let read: std::collections::BTreeSet<&str> = settings_of(MINIMAL)
            .iter()
            .chain(settings_of(&proxy_form).iter())
            .map(|s| s.name)
            .collect();
        let undocumented: Vec<_> = read.difference(&documented).collect();
        let unread: Vec<_> = documented.difference(&read).collect();
        assert!(
            undocumented.is_empty() && unread.is_empty(),
            "README's Configuration table misses {undocumented:?}; it lists {unread:?}, which nothing reads"
        );
    }
}
