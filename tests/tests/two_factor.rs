//! Two-factor auth end to end: enrolment with codes computed here from the secret,
//! login with an MFA challenge, replay refusal, backup codes, attempt limits, step-up.

use api_tests::{
    Session, User, api, bearer_get, client, login, new_user, post_json, refresh, signup,
};
use serde_json::{Value, json};
use shared::auth::{totp, unix_now};

async fn bearer_post(path: &str, token: &str, body: Value) -> reqwest::Response {
    client()
        .post(api(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// The code an authenticator shows `steps_ahead` steps from now.
fn code(secret: &[u8], steps_ahead: i64) -> String {
    let time = u64::try_from(unix_now() + 30 * steps_ahead).unwrap_or(0);
    totp::code_at(secret, time).unwrap_or_else(|e| panic!("{e}"))
}

fn secret_bytes(base32: &str) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(base32)
        .map(|secret| secret.as_ref().to_vec())
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

struct Enrolled {
    user: User,
    session: Session,
    secret: Vec<u8>,
    /// The code that enabled 2FA; its time step is used.
    enabling_code: String,
    backup_codes: Vec<String>,
}

/// Signs up and enables 2FA (the enabling code uses the current step).
async fn enrolled() -> Enrolled {
    let user = new_user();
    let session = signup(&user).await;
    let setup: Value = bearer_post("/api/auth/2fa/setup", &session.access_token, json!({}))
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    let base32 = setup["secret"].as_str().unwrap_or_default().to_owned();
    assert!(
        setup["otpauthUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/") && u.contains(&base32))
    );
    assert!(
        setup["qrSvg"]
            .as_str()
            .is_some_and(|svg| svg.contains("<svg"))
    );
    let secret = secret_bytes(&base32);
    assert_eq!(secret.len(), 20, "a 160-bit secret");

    let enabling_code = code(&secret, 0);
    let enabled = bearer_post(
        "/api/auth/2fa/enable",
        &session.access_token,
        json!({"code": enabling_code}),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    let body: Value = enabled.json().await.unwrap_or(Value::Null);
    let backup_codes: Vec<String> = body["backupCodes"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(backup_codes.len(), 10);
    Enrolled {
        user,
        session,
        secret,
        enabling_code,
        backup_codes,
    }
}

async fn mfa_token(user: &User) -> String {
    let response = login(&user.username, &user.password).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no session before the second factor"
    );
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["mfaRequired"], true, "{body}");
    assert!(body.get("accessToken").is_none());
    body["mfaToken"].as_str().unwrap_or_default().to_owned()
}

async fn verify(mfa_token: &str, code: &str) -> reqwest::Response {
    post_json(
        "/api/auth/2fa/verify",
        json!({"mfaToken": mfa_token, "code": code}),
    )
    .await
}

#[tokio::test]
async fn full_totp_flow_with_replay_refused() {
    let enrolled = enrolled().await;
    // The enabling code's step is used: the same code cannot sign in.
    let token = mfa_token(&enrolled.user).await;
    assert_eq!(
        verify(&token, &enrolled.enabling_code).await.status(),
        401,
        "a used step is refused"
    );
    // The next step's code (within the one-step window) works.
    let token = mfa_token(&enrolled.user).await;
    let next_code = code(&enrolled.secret, 1);
    let session = Session::from_response(verify(&token, &next_code).await).await;
    assert_eq!(claims(&session.access_token)["amr"], json!(["pwd", "otp"]));
    assert_eq!(
        bearer_get("/api/auth/me", &session.access_token)
            .await
            .status(),
        200
    );
    let me: Value = bearer_get("/api/auth/me", &session.access_token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    assert_eq!(me["account"]["twoFactorEnabled"], true);
    // Replaying that code with a fresh challenge is refused too.
    let token = mfa_token(&enrolled.user).await;
    assert_eq!(verify(&token, &next_code).await.status(), 401);
    // Refreshed tokens keep the second factor.
    let refreshed = Session::from_response(refresh(&session).await).await;
    assert_eq!(
        claims(&refreshed.access_token)["amr"],
        json!(["pwd", "otp"])
    );
}

#[tokio::test]
async fn enabling_revokes_the_other_sessions() {
    let user = new_user();
    let first = signup(&user).await;
    let second = Session::from_response(login(&user.username, &user.password).await).await;
    let setup: Value = bearer_post("/api/auth/2fa/setup", &first.access_token, json!({}))
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    let secret = secret_bytes(setup["secret"].as_str().unwrap_or_default());
    let wrong = bearer_post(
        "/api/auth/2fa/enable",
        &first.access_token,
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(wrong.status(), 400);
    let enabled = bearer_post(
        "/api/auth/2fa/enable",
        &first.access_token,
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    assert_eq!(
        refresh(&second).await.status(),
        401,
        "the other session is revoked"
    );
    assert_eq!(
        refresh(&first).await.status(),
        200,
        "the enabling session stays"
    );
}

#[tokio::test]
async fn a_backup_code_works_once() {
    let enrolled = enrolled().await;
    let backup = enrolled.backup_codes[3].to_uppercase();
    let token = mfa_token(&enrolled.user).await;
    let response = verify(&token, &backup).await;
    assert_eq!(response.status(), 200);
    let token = mfa_token(&enrolled.user).await;
    assert_eq!(verify(&token, &backup).await.status(), 401);
}

#[tokio::test]
async fn an_mfa_token_is_void_after_five_wrong_codes_and_single_use() {
    let enrolled = enrolled().await;
    let token = mfa_token(&enrolled.user).await;
    for _ in 0..5 {
        assert_eq!(verify(&token, "123456").await.status(), 401);
    }
    assert_eq!(
        verify(&token, &enrolled.backup_codes[0]).await.status(),
        401,
        "void after five attempts"
    );

    let token = mfa_token(&enrolled.user).await;
    assert_eq!(
        verify(&token, &enrolled.backup_codes[1]).await.status(),
        200
    );
    assert_eq!(
        verify(&token, &enrolled.backup_codes[2]).await.status(),
        401,
        "single use"
    );
    assert_eq!(
        verify("not-a-token", &enrolled.backup_codes[2])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn disabling_needs_a_recent_second_factor() {
    let enrolled = enrolled().await;
    let disable = |token: String, code: String| {
        let password = enrolled.user.password.clone();
        async move {
            bearer_post(
                "/api/auth/2fa/disable",
                &token,
                json!({"password": password, "code": code}),
            )
            .await
        }
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

    let token = mfa_token(&enrolled.user).await;
    let stepped_up = Session::from_response(verify(&token, &enrolled.backup_codes[1]).await).await;
    let wrong = disable(stepped_up.access_token.clone(), "000000".into()).await;
    assert_eq!(wrong.status(), 400);
    let ok = disable(
        stepped_up.access_token.clone(),
        enrolled.backup_codes[2].clone(),
    )
    .await;
    assert_eq!(ok.status(), 204);
    // Password alone signs in again.
    let response = login(&enrolled.user.username, &enrolled.user.password).await;
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
