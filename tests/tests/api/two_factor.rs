//! Two-factor auth end to end: enrolment with codes computed here from the secret,
//! login with an MFA challenge, replay refusal, backup codes, attempt limits, step-up.

use api_tests::{Session, User, app, new_user, token_claims as claims, totp_code as code};
use serde_json::{Value, json};

struct Enrolled {
    user: User,
    session: Session,
    secret: Vec<u8>,
    enabling_code: String,
    backup_codes: Vec<String>,
}

/// A new account with 2FA enabled.
async fn enrolled() -> Enrolled {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    let two_factor = app.enable_two_factor(&session, &user.password).await;
    Enrolled {
        user,
        session,
        secret: two_factor.secret,
        enabling_code: two_factor.enabling_code,
        backup_codes: two_factor.backup_codes,
    }
}

#[tokio::test]
async fn full_totp_flow_with_replay_refused() {
    let app = app();
    let enrolled = enrolled().await;
    // The enabling code's step is used: the same code cannot sign in.
    let token = app.mfa_challenge(&enrolled.user).await;
    assert_eq!(
        app.verify_mfa(&token, &enrolled.enabling_code)
            .await
            .status(),
        401,
        "a used step is refused"
    );
    // The next step's code (within the one-step window) works.
    let token = app.mfa_challenge(&enrolled.user).await;
    let next_code = code(&enrolled.secret, 1);
    let session = Session::from_response(app.verify_mfa(&token, &next_code).await).await;
    assert_eq!(claims(&session.access_token)["amr"], json!(["pwd", "otp"]));
    assert_eq!(app.me(&session.access_token).await.status(), 200);
    let me: Value = app
        .me(&session.access_token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    assert_eq!(me["account"]["twoFactorEnabled"], true);
    // Replaying that code with a fresh challenge is refused too.
    let token = app.mfa_challenge(&enrolled.user).await;
    assert_eq!(app.verify_mfa(&token, &next_code).await.status(), 401);
    // Refreshed tokens keep the second factor.
    let refreshed = Session::from_response(app.refresh(&session).await).await;
    assert_eq!(
        claims(&refreshed.access_token)["amr"],
        json!(["pwd", "otp"])
    );
}

#[tokio::test]
async fn enabling_revokes_the_other_sessions() {
    let app = app();
    let user = new_user();
    let first = app.signup(&user).await;
    let second = Session::from_response(app.login(&user.username, &user.password).await).await;
    let wrong = app.two_factor_setup(&first.access_token).await;
    assert_eq!(wrong.status(), 200);
    let refused = app
        .two_factor_enable(&first.access_token, "000000", &user.password)
        .await;
    assert_eq!(refused.status(), 400);
    app.enable_two_factor(&first, &user.password).await;
    assert_eq!(
        app.refresh(&second).await.status(),
        401,
        "the other session is revoked"
    );
    assert_eq!(
        app.refresh(&first).await.status(),
        200,
        "the enabling session stays"
    );
}

#[tokio::test]
async fn a_backup_code_works_once() {
    let app = app();
    let enrolled = enrolled().await;
    let backup = enrolled.backup_codes[3].to_uppercase();
    let token = app.mfa_challenge(&enrolled.user).await;
    let response = app.verify_mfa(&token, &backup).await;
    assert_eq!(response.status(), 200);
    let token = app.mfa_challenge(&enrolled.user).await;
    assert_eq!(app.verify_mfa(&token, &backup).await.status(), 401);
}

#[tokio::test]
async fn an_mfa_token_is_void_after_five_wrong_codes_and_single_use() {
    let app = app();
    let enrolled = enrolled().await;
    let token = app.mfa_challenge(&enrolled.user).await;
    for _ in 0..5 {
        assert_eq!(app.verify_mfa(&token, "123456").await.status(), 401);
    }
    assert_eq!(
        app.verify_mfa(&token, &enrolled.backup_codes[0])
            .await
            .status(),
        401,
        "void after five attempts"
    );

    let token = app.mfa_challenge(&enrolled.user).await;
    assert_eq!(
        app.verify_mfa(&token, &enrolled.backup_codes[1])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.verify_mfa(&token, &enrolled.backup_codes[2])
            .await
            .status(),
        401,
        "single use"
    );
    assert_eq!(
        app.verify_mfa("not-a-token", &enrolled.backup_codes[2])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn disabling_needs_a_recent_second_factor() {
    let app = app();
    let enrolled = enrolled().await;
    let disable = |token: String, code: String| {
        let password = enrolled.user.password.clone();
        async move { app.two_factor_disable(&token, &password, &code).await }
    };
    // The signup session authenticated with a password only.
    let refused = disable(
        enrolled.session.access_token.clone(),
        enrolled.backup_codes[0].clone(),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "STEP_UP_REQUIRED", "{body}");

    let token = app.mfa_challenge(&enrolled.user).await;
    let stepped_up =
        Session::from_response(app.verify_mfa(&token, &enrolled.backup_codes[1]).await).await;
    let wrong = disable(stepped_up.access_token.clone(), "000000".into()).await;
    assert_eq!(wrong.status(), 400);
    let ok = disable(
        stepped_up.access_token.clone(),
        enrolled.backup_codes[2].clone(),
    )
    .await;
    assert_eq!(ok.status(), 204);
    // Password alone signs in again.
    let response = app
        .login(&enrolled.user.username, &enrolled.user.password)
        .await;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(body["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn the_totp_secret_is_stored_encrypted() {
    let enrolled = enrolled().await;
    let id = enrolled.session.body["account"]["id"]
        .as_i64()
        .unwrap_or_default();
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT two_factor_secret FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&api_tests::database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let stored = stored.unwrap_or_default();
    assert!(
        stored.len() > enrolled.secret.len(),
        "nonce and tag around the ciphertext"
    );
    assert!(
        !stored
            .windows(enrolled.secret.len())
            .any(|w| w == enrolled.secret.as_slice()),
        "the clear secret is not in the row"
    );
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM backup_codes WHERE account_id = $1")
            .bind(id)
            .fetch_all(&api_tests::database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hashes.len(), 10);
    assert!(
        enrolled
            .backup_codes
            .iter()
            .all(|code| !hashes.iter().any(|h| h.contains(code.as_str())))
    );
}
