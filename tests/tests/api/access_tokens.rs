//! Attacks on access tokens, through the real HTTP path against GET /api/auth/me.
//! Tokens are forged with the stack's real signing key (read from Secrets Manager),
//! so a refusal shows the claim check, not merely an unknown signature.

use aws_lc_rs::{
    encoding::AsDer,
    signature::{KeyPair, RsaKeyPair},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use api_tests::{app, new_user, require_env, token_claims};

async fn signing_key() -> (String, String) {
    let config = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let aws = shared::state::aws_sdk_config(&config).await;
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .get_secret_value()
        .secret_id(require_env("SIGNING_KEYS_SECRET_ID"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let set: Value =
        serde_json::from_str(secret.secret_string().unwrap_or_default()).unwrap_or(Value::Null);
    let key = &set["keys"][0];
    (
        key["kid"].as_str().unwrap_or_default().to_owned(),
        key["privateKeyPem"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A real account and one of its live sessions: forged claims name them, so only the
/// forged part can be what a refusal is about (unknown sessions are refused too).
struct Real {
    id: i64,
    sid: String,
}

fn claims(real: &Real, overrides: Value) -> Value {
    let now = shared::auth::unix_now();
    let mut claims = json!({
        "iss": "blue-harvest", "aud": "blue-harvest-api", "sub": real.id.to_string(),
        "accountId": real.id, "username": "x", "roleId": 1, "iat": now, "nbf": now,
        "exp": now + 600, "jti": "forged", "amr": ["pwd"], "sid": real.sid, "auth_time": now,
    });
    if let (Some(base), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
        base.extend(extra.clone());
    }
    claims
}

fn rs256(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    header.typ = Some("at+jwt".into());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    jsonwebtoken::encode(&header, claims, &key).unwrap_or_else(|e| panic!("{e}"))
}

async fn assert_refused(token: &str, what: &str) {
    let app = app();
    let response = app.me(token).await;
    assert_eq!(response.status(), 401, "{what} was accepted");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#),
        "{what}"
    );
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "AUTHENTICATION_ERROR", "{what}");
}

async fn account_id() -> Real {
    real(&app().signup(&new_user()).await)
}

fn real(session: &api_tests::Session) -> Real {
    Real {
        id: session.body["account"]["id"].as_i64().unwrap_or_default(),
        sid: token_claims(&session.access_token)["sid"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[tokio::test]
async fn the_forging_harness_itself_produces_accepted_tokens() {
    let app = app();
    let (kid, pem) = signing_key().await;
    let token = rs256(&pem, &kid, &claims(&account_id().await, json!({})));
    assert_eq!(app.me(&token).await.status(), 200);
}

#[tokio::test]
async fn expired_wrong_issuer_and_wrong_audience_are_refused() {
    let (kid, pem) = signing_key().await;
    let id = account_id().await;
    let now = shared::auth::unix_now();
    for (what, overrides) in [
        ("expired", json!({"exp": now - 60})),
        ("wrong iss", json!({"iss": "evil"})),
        ("wrong aud", json!({"aud": "another-api"})),
        ("not yet valid", json!({"nbf": now + 300})),
    ] {
        assert_refused(&rs256(&pem, &kid, &claims(&id, overrides)), what).await;
    }
}

#[tokio::test]
async fn alg_none_unknown_kid_and_tampering_are_refused() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let id = real(&session);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&id, json!({"roleId": 2})).to_string());
    assert_refused(&format!("{header}.{payload}."), "alg none").await;

    let (_, pem) = signing_key().await;
    assert_refused(
        &rs256(&pem, "not-our-kid", &claims(&id, json!({}))),
        "unknown kid",
    )
    .await;

    let parts: Vec<&str> = session.access_token.split('.').collect();
    let elevated = URL_SAFE_NO_PAD.encode(claims(&id, json!({"roleId": 2})).to_string());
    assert_refused(
        &format!("{}.{elevated}.{}", parts[0], parts[2]),
        "tampered payload",
    )
    .await;
}

#[tokio::test]
async fn hs256_signed_with_our_public_key_is_refused() {
    let (kid, pem) = signing_key().await;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let pair = RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let spki = pair.public_key().as_der().unwrap_or_else(|e| panic!("{e}"));
    let public_pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(spki.as_ref())
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    header.typ = Some("at+jwt".into());
    let forged = jsonwebtoken::encode(
        &header,
        &claims(&account_id().await, json!({})),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_refused(&forged, "HS256 keyed with the public key").await;
}

#[tokio::test]
async fn tokens_only_work_in_their_own_role() {
    let app = app();
    let session = app.signup(&new_user()).await;
    assert_refused(&session.refresh, "a refresh token as an access token").await;
    let response = app
        .refresh_with(
            &session.access_token,
            Some(&session.csrf),
            Some(&session.csrf),
        )
        .await;
    assert_eq!(response.status(), 401, "an access token as a refresh token");
}

#[tokio::test]
async fn missing_bearer_is_a_401_without_invalid_token() {
    let app = app();
    let response = app.get("/api/auth/me").send_once().await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn jwks_publishes_the_signing_key_and_is_cacheable() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let header =
        jsonwebtoken::decode_header(&session.access_token).unwrap_or_else(|e| panic!("{e}"));
    let response = app.get("/.well-known/jwks.json").send_once().await;
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    assert!(cache.is_some_and(|c| c.starts_with("public")));
    let jwks: Value = response.json().await.unwrap_or(Value::Null);
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    let ours = keys
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref());
    let ours = ours.unwrap_or_else(|| panic!("kid {:?} not in {jwks}", header.kid));
    assert_eq!(
        (
            ours["alg"].as_str(),
            ours["use"].as_str(),
            ours["kty"].as_str()
        ),
        (Some("RS256"), Some("sig"), Some("RSA"))
    );
    assert!(
        ours.get("d").is_none() && ours.get("p").is_none(),
        "private parts published"
    );
}
