//! Database settings: the endpoints, where credentials come from, the pools and the
//! read routing.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{ConfigError, Env};

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
        Self::load(&Env::process())
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
