//! Secrets Manager rotation of the signing key set, in its four steps:
//!
//! - `createSecret`: a new RSA-2048 key becomes the set's current key in an
//!   AWSPENDING version; the old current key becomes verify-only (`previous`, still in
//!   the JWKS); previous keys retired long enough ago that every token they signed has
//!   expired are dropped.
//! - `setSecret`: nothing to do (no external system holds the key).
//! - `testSecret`: the pending set must parse, and its new key must sign a token that
//!   verifies.
//! - `finishSecret`: AWSCURRENT moves to the pending version.
//!
//! Each step is idempotent, as Secrets Manager may retry it.

use std::time::Duration;

use aws_sdk_secretsmanager::{Client, error::DisplayErrorContext};
use serde::Deserialize;
use shared::{
    auth::config::AuthConfig,
    auth::{
        access,
        keyring::{self, KeyRing, KeyStatus, SigningKey, SigningKeySet},
        unix_now,
    },
    secrets::{FromSecret, SecretsError},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

/// The event Secrets Manager sends a rotation function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    pub secret_id: String,
    pub client_request_token: String,
    pub step: Step,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("secrets manager: {0}")]
    SecretsManager(String),
    #[error(transparent)]
    Secret(#[from] SecretsError),
    #[error("the pending key set does not sign verifiable tokens: {0}")]
    Test(String),
}

fn sm<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> RotationError {
    RotationError::SecretsManager(DisplayErrorContext(error).to_string())
}

/// How long a retired key must stay: the longest an access token it signed can live.
pub fn retire_after(auth: &AuthConfig) -> Duration {
    auth.access_token_ttl + auth.leeway
}

pub async fn rotate(
    client: &Client,
    event: &RotationEvent,
    retire_after: Duration,
) -> Result<(), RotationError> {
    tracing::info!(secret = %event.secret_id, step = ?event.step, "rotation step");
    match event.step {
        Step::CreateSecret => create(client, event, retire_after).await,
        Step::SetSecret => Ok(()),
        Step::TestSecret => test(client, event).await,
        Step::FinishSecret => finish(client, event).await,
    }
}

/// The four steps in order, as Secrets Manager runs them for one rotation (for an
/// operator rotating by hand, and for tests).
pub async fn rotate_all_steps(
    client: &Client,
    secret_id: &str,
    client_request_token: &str,
    retire_after: Duration,
) -> Result<(), RotationError> {
    for step in [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ] {
        let event = RotationEvent {
            secret_id: secret_id.to_owned(),
            client_request_token: client_request_token.to_owned(),
            step,
        };
        rotate(client, &event, retire_after).await?;
    }
    Ok(())
}

async fn read(
    client: &Client,
    event: &RotationEvent,
    stage: &str,
    version: Option<&str>,
) -> Result<Option<String>, RotationError> {
    let result = client
        .get_secret_value()
        .secret_id(&event.secret_id)
        .version_stage(stage)
        .set_version_id(version.map(String::from))
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.secret_string),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(sm(error)),
    }
}

/// The next key set from the current one, at `now`.
pub fn next_key_set(
    secret_id: &str,
    current: &SigningKeySet,
    new_key: SigningKey,
    now: i64,
    retire_after: Duration,
) -> Result<SigningKeySet, SecretsError> {
    let keep_for = i64::try_from(retire_after.as_secs()).unwrap_or(i64::MAX);
    let mut keys = vec![new_key];
    for key in current.keys() {
        match key.status {
            KeyStatus::Current => keys.push(SigningKey {
                status: KeyStatus::Previous,
                retired_at: Some(now),
                ..key.clone()
            }),
            KeyStatus::Previous => {
                // A key with no retirement time is kept: we cannot know it is safe to drop.
                let expired = key
                    .retired_at
                    .is_some_and(|retired| retired + keep_for <= now);
                if expired {
                    tracing::info!(kid = %key.kid, "dropping a retired signing key");
                } else {
                    keys.push(key.clone());
                }
            }
        }
    }
    SigningKeySet::from_keys(secret_id, keys)
}

async fn create(
    client: &Client,
    event: &RotationEvent,
    retire_after: Duration,
) -> Result<(), RotationError> {
    if read(
        client,
        event,
        "AWSPENDING",
        Some(&event.client_request_token),
    )
    .await?
    .is_some()
    {
        return Ok(());
    }
    let raw = read(client, event, "AWSCURRENT", None)
        .await?
        .ok_or_else(|| {
            RotationError::SecretsManager("the secret has no AWSCURRENT version".into())
        })?;
    let current = SigningKeySet::parse(&event.secret_id, &raw)?;
    let now = unix_now();
    let (kid, pem) = keyring::generate_key()?;
    let new_key = SigningKey {
        kid: kid.clone(),
        private_key_pem: pem,
        status: KeyStatus::Current,
        created_at: Some(now),
        retired_at: None,
    };
    let next = next_key_set(&event.secret_id, &current, new_key, now, retire_after)?;
    client
        .put_secret_value()
        .secret_id(&event.secret_id)
        .client_request_token(&event.client_request_token)
        .secret_string(next.to_json().to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .map_err(sm)?;
    tracing::info!(kid = %kid, keys = next.keys().len(), "pending signing key set created");
    Ok(())
}

async fn test(client: &Client, event: &RotationEvent) -> Result<(), RotationError> {
    let raw = read(
        client,
        event,
        "AWSPENDING",
        Some(&event.client_request_token),
    )
    .await?
    .ok_or_else(|| RotationError::Test("no pending version".into()))?;
    let ring = KeyRing::parse(&event.secret_id, &raw)?;
    let probe = access::Subject {
        account_id: 0,
        username: "rotation-test".into(),
        role_id: 1,
        amr: vec!["pwd".into()],
        session_id: "rotation-test".into(),
        auth_time: 0,
        email_verified: false,
    };
    let token = access::issue(&ring, &probe, Duration::from_secs(60), unix_now())
        .map_err(|e| RotationError::Test(e.to_string()))?;
    access::verify(&ring, &token, Duration::ZERO)
        .map_err(|e| RotationError::Test(e.to_string()))?;
    Ok(())
}

async fn finish(client: &Client, event: &RotationEvent) -> Result<(), RotationError> {
    let described = client
        .describe_secret()
        .secret_id(&event.secret_id)
        .send()
        .await
        .map_err(sm)?;
    let current = described.version_ids_to_stages().and_then(|versions| {
        versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(version, _)| version.clone())
    });
    if current.as_deref() == Some(event.client_request_token.as_str()) {
        return Ok(());
    }
    client
        .update_secret_version_stage()
        .secret_id(&event.secret_id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&event.client_request_token)
        .set_remove_from_version_id(current)
        .send()
        .await
        .map_err(sm)?;
    tracing::info!(secret = %event.secret_id, "rotation finished: the new key signs");
    Ok(())
}

/// Never log key material: a set is described by its kids.
pub fn describe(set: &SigningKeySet) -> Vec<(String, KeyStatus)> {
    set.keys()
        .iter()
        .map(|k| (k.kid.clone(), k.status))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, status: KeyStatus, retired_at: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            private_key_pem: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----".into(),
            status,
            created_at: Some(0),
            retired_at,
        }
    }

    #[test]
    fn the_new_key_signs_the_old_verifies_and_expired_retirees_go() -> Result<(), SecretsError> {
        let retire_after = Duration::from_secs(930);
        let current = SigningKeySet::from_keys(
            "sk",
            vec![
                key("b", KeyStatus::Current, None),
                key("a-recent", KeyStatus::Previous, Some(10_000 - 100)),
                key("a-old", KeyStatus::Previous, Some(10_000 - 930)),
                key("a-unknown", KeyStatus::Previous, None),
            ],
        )?;
        let next = next_key_set(
            "sk",
            &current,
            key("c", KeyStatus::Current, None),
            10_000,
            retire_after,
        )?;
        assert_eq!(
            describe(&next),
            [
                ("c".into(), KeyStatus::Current),
                ("b".into(), KeyStatus::Previous),
                ("a-recent".into(), KeyStatus::Previous),
                ("a-unknown".into(), KeyStatus::Previous),
            ]
        );
        let retired = next
            .keys()
            .iter()
            .find(|k| k.kid == "b")
            .and_then(|k| k.retired_at);
        assert_eq!(retired, Some(10_000));
        Ok(())
    }

    #[test]
    fn rotation_events_parse() {
        for (name, step) in [
            ("createSecret", Step::CreateSecret),
            ("setSecret", Step::SetSecret),
            ("testSecret", Step::TestSecret),
            ("finishSecret", Step::FinishSecret),
        ] {
            let path = format!(
                "{}/../../events/rotation-{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let event: RotationEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(event.step, step);
        }
    }
}
