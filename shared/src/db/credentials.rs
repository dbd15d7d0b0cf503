//! Database credentials that change under a running instance.
//!
//! RDS rotates its managed secret (every 7 days in template.yaml) while warm instances
//! keep running; IAM auth tokens expire after 15 minutes. Connections already open
//! stay valid, but every new one must present what the server accepts now:
//!
//! - [`DatabaseAuth::Url`]: the URLs' own user and password, never changed.
//! - [`DatabaseAuth::Secret`]: read from Secrets Manager at start, and again when the
//!   server refuses them (28P01 or 28000); the refused connection is then tried once
//!   more with what the secret says now.
//! - [`DatabaseAuth::Iam`]: a token signed with the function's own role (SigV4 for
//!   `rds-db:connect`), replaced before it is 10 minutes old and on a refusal.
//!
//! New credentials go into the pools' connect options (`PgPool::set_connect_options`),
//! which only new connections read. Refreshes are single-flight and at most one per
//! [`REFRESH_MIN_INTERVAL`], so a flood of refusals is not a flood of secret reads.

use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign},
    sign::v4,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgPool, postgres::PgConnectOptions};
use tokio::sync::Mutex;

use super::Credentials;
use super::config::DatabaseAuth;
use crate::secrets;

/// At most one refresh per this interval (a refresh after a refusal, or a new token).
pub const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(2);
/// IAM tokens live 15 minutes; a new one is made well before.
const IAM_TOKEN_REFRESH_AFTER: Duration = Duration::from_secs(600);
const IAM_TOKEN_LIFETIME: Duration = Duration::from_secs(900);

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(transparent)]
    Secret(#[from] secrets::SecretsError),
    #[error("cannot sign an IAM database auth token: {0}")]
    Sign(String),
}

/// The server refused the credentials (`invalid_password`, or
/// `invalid_authorization_specification`: an expired IAM token, an unknown user).
pub fn refused(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "28P01" || code == "28000")
}

/// The connect options of both pools without credentials, and where those come from.
pub struct DbCredentials {
    auth: DatabaseAuth,
    writer: PgConnectOptions,
    reader: PgConnectOptions,
    secrets: aws_sdk_secretsmanager::Client,
    aws: SdkConfig,
    /// When the credentials in use were obtained (and a refresh was last tried).
    issued: Mutex<Instant>,
}

impl DbCredentials {
    /// `writer`/`reader`: complete options except the user and password.
    pub fn new(
        auth: DatabaseAuth,
        writer: PgConnectOptions,
        reader: PgConnectOptions,
        aws: &SdkConfig,
    ) -> Self {
        Self {
            auth,
            writer,
            reader,
            secrets: aws_sdk_secretsmanager::Client::new(aws),
            aws: aws.clone(),
            // Long enough ago that the first refusal refreshes at once.
            issued: Mutex::new(
                Instant::now()
                    .checked_sub(REFRESH_MIN_INTERVAL)
                    .unwrap_or_else(Instant::now),
            ),
        }
    }

    /// The options for both pools with the credentials in force now.
    pub async fn current(&self) -> Result<(PgConnectOptions, PgConnectOptions), CredentialsError> {
        match &self.auth {
            DatabaseAuth::Url => Ok((self.writer.clone(), self.reader.clone())),
            DatabaseAuth::Secret { id } => {
                let credentials = secrets::fetch::<Credentials>(&self.secrets, id).await?;
                let with = |options: &PgConnectOptions| {
                    options
                        .clone()
                        .username(&credentials.username)
                        .password(credentials.password.expose_secret())
                };
                Ok((with(&self.writer), with(&self.reader)))
            }
            DatabaseAuth::Iam { user } => {
                let with = async |options: &PgConnectOptions| {
                    let token = self.iam_token(options, user).await?;
                    Ok::<_, CredentialsError>(
                        options
                            .clone()
                            .username(user)
                            .password(token.expose_secret()),
                    )
                };
                Ok((with(&self.writer).await?, with(&self.reader).await?))
            }
        }
    }

    /// The options without credentials (until they can be fetched).
    pub fn without(&self) -> (PgConnectOptions, PgConnectOptions) {
        (self.writer.clone(), self.reader.clone())
    }

    /// Before new connections are opened: IAM tokens close to expiry are replaced.
    pub async fn keep_fresh(&self, writer: &PgPool, reader: &PgPool) {
        if matches!(self.auth, DatabaseAuth::Iam { .. })
            && self.issued.lock().await.elapsed() >= IAM_TOKEN_REFRESH_AFTER
        {
            self.refresh(writer, reader).await;
        }
    }

    /// After the server refused the credentials: new ones into both pools, unless
    /// another request just did it. True when new options are in place.
    pub async fn refresh(&self, writer: &PgPool, reader: &PgPool) -> bool {
        if self.auth == DatabaseAuth::Url {
            return false;
        }
        let mut issued = self.issued.lock().await;
        if issued.elapsed() < REFRESH_MIN_INTERVAL {
            // Someone refreshed a moment ago: try with what they set.
            return true;
        }
        *issued = Instant::now();
        match self.current().await {
            Ok((writer_options, reader_options)) => {
                writer.set_connect_options(writer_options);
                reader.set_connect_options(reader_options);
                tracing::info!("database credentials refreshed");
                true
            }
            Err(error) => {
                tracing::warn!(error = %error, "database credentials could not be refreshed");
                false
            }
        }
    }

    /// `host:port/?Action=connect&DBUser=...&X-Amz-...`: a presigned `rds-db:connect`
    /// request, which RDS and RDS Proxy accept as the password for 15 minutes.
    async fn iam_token(
        &self,
        options: &PgConnectOptions,
        user: &str,
    ) -> Result<SecretString, CredentialsError> {
        let failed = |e: &dyn std::fmt::Display| CredentialsError::Sign(e.to_string());
        let provider = self
            .aws
            .credentials_provider()
            .ok_or_else(|| failed(&"no AWS credentials provider"))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| failed(&e))?;
        let region = self
            .aws
            .region()
            .ok_or_else(|| failed(&"no AWS region"))?
            .to_string();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(IAM_TOKEN_LIFETIME);
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("rds-db")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let url = format!(
            "https://{}:{}/?Action=connect&DBUser={user}",
            options.get_host(),
            options.get_port()
        );
        let request =
            SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
                .map_err(|e| failed(&e))?;
        let (instructions, _signature) =
            sign(request, &params).map_err(|e| failed(&e))?.into_parts();
        let mut signed = http::Request::builder()
            .uri(&url)
            .body(())
            .map_err(|e| failed(&e))?;
        instructions.apply_to_request_http1x(&mut signed);
        let token = signed.uri().to_string();
        Ok(token.trim_start_matches("https://").to_owned().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_authentication_failures_count_as_refused() {
        assert!(!refused(&sqlx::Error::PoolTimedOut));
        assert!(!refused(&sqlx::Error::RowNotFound));
    }

    #[tokio::test]
    async fn an_iam_token_is_a_presigned_connect_request() {
        let aws = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::for_tests(),
                ),
            )
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let options = PgConnectOptions::new()
            .host("proxy.example.eu-west-1.rds.amazonaws.com")
            .port(5432);
        let credentials = DbCredentials::new(
            DatabaseAuth::Iam { user: "app".into() },
            options.clone(),
            options.clone(),
            &aws,
        );
        let token = credentials
            .iam_token(&options, "app")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let token = token.expose_secret();
        assert!(
            token.starts_with(
                "proxy.example.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&"
            ),
            "{token}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "%2Feu-west-1%2Frds-db%2Faws4_request",
            "X-Amz-Expires=900",
            "X-Amz-Signature=",
        ] {
            assert!(token.contains(part), "{part} missing from {token}");
        }
    }
}
