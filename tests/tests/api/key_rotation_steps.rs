//! A full rotation of a signing key set in Secrets Manager (moto), step by step as
//! Secrets Manager would call the function.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use key_rotation::{RotationEvent, Step, rotate, rotate_all_steps};
use secrecy::ExposeSecret;
use shared::{
    auth::{access, access::TokenError, keyring, keyring::KeyRing, unix_now},
    config::AwsConfig,
    secrets::fetch,
};

const RETIRE_AFTER: Duration = Duration::from_secs(930);

async fn client() -> Client {
    let config = AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        config.endpoint_url.is_some(),
        "AWS_ENDPOINT_URL is not set: run `make test`"
    );
    Client::new(&shared::state::aws_sdk_config(&config).await)
}

/// A key set with one current key, as the stack provisions it.
async fn new_secret(client: &Client) -> String {
    let (kid, pem) = keyring::generate_key().unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::json!({"keys": [{"kid": kid, "privateKeyPem": pem.expose_secret(), "status": "current"}]});
    let id = format!("test/signing-keys/{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&id)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    id
}

async fn ring(client: &Client, id: &str) -> KeyRing {
    fetch::<KeyRing>(client, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn rotate_fully(client: &Client, id: &str, retire_after: Duration) {
    let token = uuid::Uuid::new_v4().to_string();
    rotate_all_steps(client, id, &token, retire_after)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Every step may be retried by Secrets Manager; a retry changes nothing.
    let before = client
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .map(|d| d.version_ids_to_stages().map(|v| v.len()));
    for step in [Step::CreateSecret, Step::FinishSecret] {
        let event = RotationEvent {
            secret_id: id.into(),
            client_request_token: token.clone(),
            step,
        };
        rotate(client, &event, retire_after)
            .await
            .unwrap_or_else(|e| panic!("retried {step:?}: {e}"));
    }
    let after = client
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .map(|d| d.version_ids_to_stages().map(|v| v.len()));
    assert_eq!(
        before.ok().flatten(),
        after.ok().flatten(),
        "a retried step made a new version"
    );
}

fn subject() -> access::Subject {
    access::Subject {
        account_id: 7,
        username: "rotation".into(),
        role_id: 1,
        amr: vec!["pwd".into()],
        session_id: "s".into(),
        auth_time: 0,
        email_verified: false,
    }
}

fn jwks_kids(ring: &KeyRing) -> Vec<String> {
    ring.jwks().keys.iter().map(|k| k.kid.clone()).collect()
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_verify_after_it() {
    let client = client().await;
    let id = new_secret(&client).await;
    let before = ring(&client, &id).await;
    let old_token = access::issue(&before, &subject(), Duration::from_secs(900), unix_now())
        .unwrap_or_else(|e| panic!("{e}"));

    rotate_fully(&client, &id, RETIRE_AFTER).await;

    let after = ring(&client, &id).await;
    assert_ne!(after.current_kid(), before.current_kid(), "a new key signs");
    assert!(
        access::verify(&after, &old_token, Duration::ZERO).is_ok(),
        "the old key still verifies"
    );
    let kids = jwks_kids(&after);
    assert!(
        kids.contains(&before.current_kid().to_owned())
            && kids.contains(&after.current_kid().to_owned()),
        "{kids:?}"
    );
    let new_token = access::issue(&after, &subject(), Duration::from_secs(900), unix_now())
        .unwrap_or_else(|e| panic!("{e}"));
    let header = shared_header_kid(&new_token);
    assert_eq!(header.as_deref(), Some(after.current_kid()));
}

fn shared_header_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = base64_url_decode(header)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["kid"].as_str().map(String::from)
}

fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

#[tokio::test]
async fn a_retired_key_is_dropped_once_its_tokens_have_expired() {
    let client = client().await;
    let id = new_secret(&client).await;
    let first = ring(&client, &id).await;
    let old_token = access::issue(&first, &subject(), Duration::from_secs(900), unix_now())
        .unwrap_or_else(|e| panic!("{e}"));
    rotate_fully(&client, &id, RETIRE_AFTER).await;
    // The next rotation comes after the retired key's tokens expired (zero here).
    rotate_fully(&client, &id, Duration::ZERO).await;
    let third = ring(&client, &id).await;
    assert_eq!(
        jwks_kids(&third).len(),
        2,
        "current + the one retired just now"
    );
    assert!(!jwks_kids(&third).contains(&first.current_kid().to_owned()));
    assert_eq!(
        access::verify(&third, &old_token, Duration::ZERO),
        Err(TokenError::UnknownKid)
    );
}

#[tokio::test]
async fn test_secret_refuses_a_broken_pending_set() {
    let client = client().await;
    let id = new_secret(&client).await;
    let token = uuid::Uuid::new_v4().to_string();
    client
        .put_secret_value()
        .secret_id(&id)
        .client_request_token(&token)
        .secret_string(r#"{"keys": []}"#)
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let event = RotationEvent {
        secret_id: id.clone(),
        client_request_token: token,
        step: Step::TestSecret,
    };
    assert!(rotate(&client, &event, RETIRE_AFTER).await.is_err());
}

/// An instance whose cache still holds the key set from before a rotation (its cache
/// lasts an hour here) verifies a token signed with the new key at once: the unknown
/// `kid` makes it refetch the set, once, instead of refusing until the cache expires.
#[tokio::test]
async fn a_token_from_a_rotated_in_key_verifies_at_once_on_an_instance_holding_the_old_set() {
    use axum::{Router, routing::get};
    use shared::{AppState, auth::Principal, config::Config, store::families::Seen};
    use tower::ServiceExt;

    let client = client().await;
    let id = new_secret(&client).await;
    let config = Config::from_env_with(&[
        ("SIGNING_KEYS_SECRET_ID", id.as_str()),
        ("SECRETS_CACHE_TTL_SECONDS", "3600"),
        ("SIGNING_KEYS_REFETCH_SECONDS", "1"),
    ])
    .unwrap_or_else(|e| panic!("{e} (run `make test`)"));
    let state = AppState::from_config(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = state
        .secrets
        .signing_keys()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The scenario: a cache older than the refetch interval (every cache is, but in the
    // first second after it was filled), still far from its one-hour expiry.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    rotate_fully(&client, &id, RETIRE_AFTER).await;
    let after = ring(&client, &id).await;
    assert_ne!(after.current_kid(), before.current_kid());
    // The token must name a live session of an account nothing else touches: the
    // identity layer checks both.
    let mut subject = subject();
    subject.account_id =
        i64::try_from(uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000).unwrap_or(1) + 1_000_000;
    let session = state
        .families
        .create(
            subject.account_id,
            &subject.amr,
            Seen {
                ip: None,
                user_agent: None,
                now: unix_now(),
            },
            Duration::from_secs(300),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    subject.session_id = session.id;
    let token = access::issue(&after, &subject, Duration::from_secs(900), unix_now())
        .unwrap_or_else(|e| panic!("{e}"));

    let routes = Router::new().route(
        "/api/whoami",
        get(|principal: Principal| async move { principal.account_id.to_string() }),
    );
    let request = http::Request::builder()
        .uri("/api/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(lambda_http::Body::Empty)
        .unwrap_or_else(|e| panic!("{e}"));
    let response = shared::http::function(routes.with_state(state.clone()), &state)
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.status(), 200, "the new key was not fetched");
}
