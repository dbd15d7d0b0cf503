//! What one Lambda instance builds once, at cold start, and shares by reference across
//! invocations: configuration, AWS clients, the two pools, the secrets cache.

use std::{sync::Arc, time::Instant};

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};

use crate::{
    auth::passwords::{PasswordError, Passwords},
    config::{AwsConfig, Config, ConfigError, DatabaseConfig, DatabaseEndpoints},
    db::{Credentials, Db, DbError},
    ratelimit::RateLimiter,
    secrets::{self, Secrets, SecretsError},
    store::{brute_force::BruteForce, families::Families, mfa::MfaChallenges},
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Passwords(#[from] PasswordError),
}

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: Secrets,
    pub passwords: Passwords,
    pub families: Families,
    pub limiter: RateLimiter,
    pub mfa: MfaChallenges,
    pub brute_force: BruteForce,
    pub started_at: Instant,
}

impl AppState {
    /// Reads the environment and builds everything. Nothing here connects to
    /// PostgreSQL (the pools are lazy); only the RDS Proxy mode fetches its credentials.
    pub async fn from_env() -> Result<Arc<Self>, StartupError> {
        Self::from_config(Config::from_env()?).await
    }

    pub async fn from_config(config: Config) -> Result<Arc<Self>, StartupError> {
        let started_at = Instant::now();
        let aws = aws_sdk_config(&config.aws).await;
        let db = connect_db(&config.database, &aws).await?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        Ok(Arc::new(Self {
            passwords: Passwords::new(config.auth.argon2)?,
            families: Families::new(dynamodb.clone(), &config.tables.token_families),
            mfa: MfaChallenges::new(dynamodb.clone(), &config.tables.rate_limits),
            brute_force: BruteForce::new(dynamodb.clone(), &config.tables.rate_limits),
            limiter: RateLimiter::new(
                dynamodb.clone(),
                &config.tables.rate_limits,
                config.rate_limits.clone(),
            ),
            dynamodb,
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(&aws), &config.secrets),
            db,
            config,
            started_at,
        }))
    }
}

/// Region and credentials come from the standard AWS variables; the endpoint from
/// `AwsConfig` (`AWS_ENDPOINT_URL` points the clients at the local moto server).
pub async fn aws_sdk_config(config: &AwsConfig) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let loader = match &config.endpoint_url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    };
    loader
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .operation_attempt_timeout(config.attempt_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        )
        .load()
        .await
}

/// The two pools; in RDS Proxy mode the credentials are read from Secrets Manager first.
pub async fn connect_db(config: &DatabaseConfig, aws: &SdkConfig) -> Result<Db, StartupError> {
    let credentials = match &config.endpoints {
        DatabaseEndpoints::Proxy {
            credentials_secret_id,
            ..
        } => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            Some(secrets::fetch::<Credentials>(&client, credentials_secret_id).await?)
        }
        DatabaseEndpoints::Urls { .. } => None,
    };
    Ok(Db::connect_lazy(config, credentials.as_ref())?)
}
