//! The local stack survives a restart of its AWS emulators (`scripts/stack.sh stop-aws`
//! then `start-aws`, what `make stop` + `make dev` or a fault test's restart does to
//! them): dynalite keeps DynamoDB's tables on disk, and moto is provisioned again with
//! the stack's own key material (`.stack/<name>/keys/`, mode 0600), so an account with
//! 2FA still signs in with a code (its TOTP secret is sealed with the kept `totpKey`),
//! sessions from before still refresh, and access tokens still verify. It restarts
//! the emulators, so its name starts with `serial_`.

use std::{os::unix::fs::PermissionsExt, path::PathBuf, time::Duration};

use api_tests::{
    RestoreAws, Session, app, aws_is_down, dynamodb_is_down, eventually, moto_is_down, new_user,
    require_env, stack, token_claims, totp_code,
};
use serde_json::json;

/// The current values of the stack's two key secrets (`AWSCURRENT` named: moto answers
/// a stageless read with the version that was current when the secret was created).
async fn key_secrets() -> Vec<String> {
    let aws = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let client =
        shared::state::secrets_manager_client(&shared::state::aws_sdk_config(&aws).await, &aws);
    let mut values = Vec::new();
    for id in ["SIGNING_KEYS_SECRET_ID", "APP_KEYS_SECRET_ID"] {
        let secret = client
            .get_secret_value()
            .secret_id(require_env(id))
            .version_stage("AWSCURRENT")
            .send()
            .await
            .unwrap_or_else(|e| panic!("reading {id}: {e:?}"));
        values.push(secret.secret_string().unwrap_or_default().to_owned());
    }
    values
}

async fn healthy() {
    let app = app();
    eventually("health to say healthy", Duration::from_secs(30), || async {
        let (status, body) = app.health("").await;
        (status == 200 && body["status"] == "healthy").then_some(())
    })
    .await;
}

#[tokio::test]
async fn serial_stack_restart_keeps_two_factor_sessions_and_keys() {
    assert!(
        api_tests::dynamodb_persists(),
        "this stack serves DynamoDB from moto (BH_LOCAL_DYNAMODB=moto), which keeps nothing \
         across a restart; the local stack's default, dynalite, does"
    );
    let app = app();
    let _restore = RestoreAws;
    healthy().await;
    let user = new_user();
    let session = app.signup(&user).await;
    let two_factor = app.enable_two_factor(&session, &user.password).await;
    let keys_before = key_secrets().await;

    // The key material is kept in files only their owner can read.
    let keys_dir = PathBuf::from(require_env("BH_STACK_DIR")).join("keys");
    for file in ["signing-keys.json", "app-keys.json"] {
        let mode = std::fs::metadata(keys_dir.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", keys_dir.join(file).display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }

    // Both emulators stopped: each stop returns once its process has exited.
    stack("stop-aws");
    assert!(
        aws_is_down(),
        "after stop-aws, DynamoDB down: {}, moto down: {}",
        dynamodb_is_down(),
        moto_is_down()
    );
    stack("start-aws");
    healthy().await;

    let keys_after = key_secrets().await;
    // (Compared without printing them.)
    assert!(
        keys_before == keys_after,
        "the key secrets changed across the restart"
    );

    // The access token from before verifies, and its session is still there.
    assert_eq!(app.me(&session.access_token).await.status(), 200);
    // The refresh token from before still refreshes.
    let refreshed = Session::from_response(app.refresh(&session).await).await;
    assert_eq!(app.me(&refreshed.access_token).await.status(), 200);

    // Password, then a code from the authenticator: the TOTP secret still opens. The
    // enabling code used the step current before the restart; the next step's code is
    // within the accepted window and not used yet.
    let mfa_token = app.mfa_challenge(&user).await;
    let next_code = totp_code(&two_factor.secret, 1);
    let signed_in = Session::from_response(app.verify_mfa(&mfa_token, &next_code).await).await;
    assert_eq!(
        token_claims(&signed_in.access_token)["amr"],
        json!(["pwd", "otp"])
    );
    assert_eq!(app.me(&signed_in.access_token).await.status(), 200);
    let refreshed = Session::from_response(app.refresh(&signed_in).await).await;
    assert_eq!(app.me(&refreshed.access_token).await.status(), 200);
}
