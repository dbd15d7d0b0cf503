//! Rotating the stack's own signing key set while the API serves: tokens signed
//! before keep working, new ones carry the new kid, the JWKS lists both. Runs in the
//! serial step (`serial_` prefix): other suites forge tokens with "the" current key.

use std::time::Duration;

use api_tests::{Session, app, eventually, new_user, require_env};
use key_rotation::rotate_all_steps;
use serde_json::Value;

async fn jwks_kids() -> Vec<String> {
    let app = app();
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send_once()
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k["kid"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid)
}

#[tokio::test]
async fn serial_key_rotation_keeps_earlier_tokens_valid() {
    let app = app();
    let user = new_user();
    let before = app.signup(&user).await;
    let old_kid = kid(&before.access_token);
    // What is published before: a stack whose key set was rotated before (kept across
    // restarts) already lists two keys.
    let published_before = jwks_kids().await;

    let config = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let secrets =
        aws_sdk_secretsmanager::Client::new(&shared::state::aws_sdk_config(&config).await);
    let token = uuid::Uuid::new_v4().to_string();
    let secret_id = require_env("SIGNING_KEYS_SECRET_ID");
    rotate_all_steps(&secrets, &secret_id, &token, Duration::from_secs(930))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The functions refetch the key set when their cache expires (2 s under make test).
    let kids = eventually(
        "the JWKS to list the new key",
        Duration::from_secs(20),
        || async {
            let kids = jwks_kids().await;
            kids.iter()
                .any(|kid| !published_before.contains(kid))
                .then_some(kids)
        },
    )
    .await;
    assert!(
        old_kid.as_ref().is_some_and(|old| kids.contains(old)),
        "the old key stays published: {kids:?}"
    );

    assert_eq!(
        app.me(&before.access_token).await.status(),
        200,
        "a pre-rotation token still works"
    );
    let after = Session::from_response(app.login(&user.username, &user.password).await).await;
    let new_kid = kid(&after.access_token);
    assert_ne!(new_kid, old_kid, "new tokens are signed with the new key");
    assert!(new_kid.as_ref().is_some_and(|new| kids.contains(new)));
    assert_eq!(app.me(&after.access_token).await.status(), 200);
}
