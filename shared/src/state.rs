//! What one Lambda instance builds once, at cold start, and shares by reference across
//! invocations: configuration, AWS clients, the two pools, the secrets cache.

use std::{sync::Arc, time::Instant};

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};

use crate::{
    auth::passwords::{PasswordError, Passwords},
    config::{AwsConfig, Config, ConfigError},
    db::config::DatabaseConfig,
    db::{Db, DbError},
    mail::MailQueue,
    ratelimit::RateLimiter,
    resilience::Breakers,
    resilience::config::ResilienceConfig,
    secrets::{Secrets, SecretsError},
    store::{
        account_state::AccountStates, brute_force::BruteForce, families::Families,
        mfa::MfaChallenges, request_state::RequestStates,
    },
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
    /// The request's one DynamoDB read (block, session, account item).
    pub request_states: RequestStates,
    /// The per-account item: role, deletion, last write.
    pub account_states: AccountStates,
    /// The same breakers the pools, the DynamoDB stores and the secrets cache use.
    pub breakers: Breakers,
    /// The mail job queue (SQS), fed from the transactional outbox.
    pub mail: MailQueue,
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
        let breakers = Breakers::new(&config.resilience);
        let db = connect_db(&config.database, &config.resilience, &breakers, &aws).await?;
        let dynamodb = dynamodb_client(&aws, &config.aws);
        let tables = &config.tables;
        let breaker = &breakers.dynamodb;
        let families = Families::new(dynamodb.clone(), breaker.clone(), &tables.token_families);
        let mfa = MfaChallenges::new(dynamodb.clone(), breaker.clone(), &tables.rate_limits);
        let brute_force = BruteForce::new(dynamodb.clone(), breaker.clone(), &tables.rate_limits);
        let request_states = RequestStates::new(dynamodb.clone(), breaker.clone(), tables.clone());
        let account_states =
            AccountStates::new(dynamodb.clone(), breaker.clone(), &tables.rate_limits);
        let limiter = RateLimiter::new(
            dynamodb.clone(),
            breaker.clone(),
            &tables.rate_limits,
            config.rate_limits.clone(),
        );
        let secrets = Secrets::new(
            secrets_manager_client(&aws, &config.aws),
            breakers.secrets.clone(),
            &config.secrets,
        );
        let mail = MailQueue::new(
            aws_sdk_sqs::Client::new(&aws),
            config.mail.queue_url.clone(),
        );
        Ok(Arc::new(Self {
            passwords: Passwords::new(config.auth.argon2)?,
            mail,
            families,
            mfa,
            brute_force,
            request_states,
            account_states,
            limiter,
            dynamodb,
            secrets,
            db,
            breakers,
            config,
            started_at,
        }))
    }
}

/// The DynamoDB client, at the endpoint the configuration names (see `AwsConfig`).
pub fn dynamodb_client(aws: &SdkConfig, config: &AwsConfig) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(aws);
    builder.set_endpoint_url(config.service_endpoint(&config.dynamodb_endpoint_url));
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// The Secrets Manager client, at the endpoint the configuration names.
pub fn secrets_manager_client(
    aws: &SdkConfig,
    config: &AwsConfig,
) -> aws_sdk_secretsmanager::Client {
    let mut builder = aws_sdk_secretsmanager::config::Builder::from(aws);
    builder.set_endpoint_url(config.service_endpoint(&config.secrets_manager_endpoint_url));
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

/// Region, credentials and endpoints come from the standard AWS variables, as the SDK
/// reads them: `AWS_ENDPOINT_URL_<SERVICE>` before `AWS_ENDPOINT_URL` (nothing forces one
/// endpoint for every service here, which would outrank the per-service variables).
pub async fn aws_sdk_config(config: &AwsConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .operation_attempt_timeout(config.attempt_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        )
        // Standard mode: exponential backoff with full jitter, for throttling and
        // transient faults; calls that must not repeat opt out per call.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(config.max_attempts)
                .with_initial_backoff(config.retry_initial_backoff),
        )
        .load()
        .await
}

/// The pools alone, configured from the environment: for the functions and tools that
/// need nothing else (partition maintenance, migrations).
pub async fn connect_db_from_env() -> Result<Db, StartupError> {
    let aws = aws_sdk_config(&AwsConfig::from_env()?).await;
    let resilience = ResilienceConfig::from_env()?;
    let breakers = Breakers::new(&resilience);
    connect_db(&DatabaseConfig::from_env()?, &resilience, &breakers, &aws).await
}

/// The two pools, with credentials from where the configuration says (`Db::connect`).
pub async fn connect_db(
    config: &DatabaseConfig,
    resilience: &ResilienceConfig,
    breakers: &Breakers,
    aws: &SdkConfig,
) -> Result<Db, StartupError> {
    Ok(Db::connect(config, resilience, breakers, aws).await?)
}
