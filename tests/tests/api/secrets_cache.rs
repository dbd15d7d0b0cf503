//! The secrets cache against Secrets Manager (moto, from the local stack's env).

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use shared::{
    config::AwsConfig,
    resilience::CircuitBreaker,
    secrets::config::SecretsConfig,
    secrets::{Secrets, SecretsError},
    state::aws_sdk_config,
};

async fn client() -> aws_sdk_secretsmanager::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the suite with `make test` (it starts moto)"
    );
    let config = AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    aws_sdk_secretsmanager::Client::new(&aws_sdk_config(&config).await)
}

fn app_keys(fill: u8, refresh_len: usize) -> String {
    serde_json::json!({
        "refreshKey": STANDARD.encode(vec![fill; refresh_len]),
        "csrfKey": STANDARD.encode(vec![fill; 32]),
        "cursorKey": STANDARD.encode(vec![fill; 32]),
        "totpKey": STANDARD.encode(vec![fill; 32]),
        "backupCodeKey": STANDARD.encode(vec![fill; 32]),
    })
    .to_string()
}

/// A secret of its own for each test, so tests never see each other's values.
async fn create(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let id = format!("test/app-keys/{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&id)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_secret: {e:?}"));
    id
}

async fn put(client: &aws_sdk_secretsmanager::Client, id: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put_secret_value: {e:?}"));
}

fn secrets(client: aws_sdk_secretsmanager::Client, app_keys_id: &str, ttl: Duration) -> Secrets {
    Secrets::new(
        client,
        Arc::new(CircuitBreaker::new(
            "secrets",
            5,
            Duration::from_secs(60),
            2,
        )),
        &SecretsConfig {
            signing_keys_id: "unused".into(),
            app_keys_id: app_keys_id.into(),
            cache_ttl: ttl,
        },
    )
}

async fn refresh_key_fill(secrets: &Secrets) -> u8 {
    let keys = secrets.app_keys().await.unwrap_or_else(|e| panic!("{e}"));
    keys.refresh.expose()[0]
}

#[tokio::test]
async fn keys_are_cached_for_the_ttl() {
    let client = client().await;
    let id = create(&client, &app_keys(1, 32)).await;
    let secrets = secrets(client.clone(), &id, Duration::from_secs(300));
    assert_eq!(refresh_key_fill(&secrets).await, 1);

    put(&client, &id, &app_keys(2, 32)).await;
    assert_eq!(
        refresh_key_fill(&secrets).await,
        1,
        "within the TTL the cached copy serves"
    );
}

#[tokio::test]
async fn keys_are_refetched_after_the_ttl() {
    let client = client().await;
    let id = create(&client, &app_keys(1, 32)).await;
    let secrets = secrets(client.clone(), &id, Duration::ZERO);
    assert_eq!(refresh_key_fill(&secrets).await, 1);

    put(&client, &id, &app_keys(2, 32)).await;
    assert_eq!(refresh_key_fill(&secrets).await, 2);
}

#[tokio::test]
async fn a_weak_key_in_secrets_manager_is_refused() {
    let client = client().await;
    let id = create(&client, &app_keys(1, 16)).await;
    match secrets(client, &id, Duration::from_secs(300))
        .app_keys()
        .await
    {
        Err(SecretsError::WeakKey { field, bytes, .. }) => {
            assert_eq!((field, bytes), ("refreshKey", 16))
        }
        other => panic!("expected WeakKey, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_failed_refresh_keeps_serving_the_cached_copy() {
    let client = client().await;
    let id = create(&client, &app_keys(3, 32)).await;
    let secrets = secrets(client.clone(), &id, Duration::ZERO);
    assert_eq!(refresh_key_fill(&secrets).await, 3);

    put(&client, &id, "not json").await;
    assert_eq!(
        refresh_key_fill(&secrets).await,
        3,
        "a bad new version must not replace good keys"
    );
}

#[tokio::test]
async fn a_missing_secret_is_an_error_naming_it() {
    let client = client().await;
    let err = secrets(client, "test/does-not-exist", Duration::from_secs(1))
        .app_keys()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("test/does-not-exist"), "{err}");
}
