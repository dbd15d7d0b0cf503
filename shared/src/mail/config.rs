//! Mail settings: mailed links and the job queue (API functions), the mailer's, the
//! outbox relay's.

use std::time::Duration;

use crate::config::{ConfigError, Env};

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
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
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
        Self::load(&Env::process())
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
        let env = Env::process();
        Ok(Self {
            queue_url: env.required("MAIL_QUEUE_URL")?,
            relay_after: Duration::from_secs(env.positive("OUTBOX_RELAY_AFTER_SECONDS", 60)?),
        })
    }
}
