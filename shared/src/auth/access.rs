//! Access tokens: RS256 JWTs, `typ: at+jwt`, 15 minutes by default.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keyring::KeyRing;

pub const ISSUER: &str = "blue-harvest";
pub const AUDIENCE: &str = "blue-harvest-api";
const TYPE: &str = "at+jwt";

/// The claims of ARCHITECTURE.md, plus `nbf` and `sid` (the refresh-token family the
/// token was issued for, so a session list can mark the caller's own session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    #[serde(rename = "accountId")]
    pub account_id: i64,
    pub username: String,
    #[serde(rename = "roleId")]
    pub role_id: i16,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub amr: Vec<String>,
    pub sid: String,
    /// When the session was authenticated (OIDC `auth_time`); refreshes keep it.
    pub auth_time: i64,
    /// Whether the account's address was proven when the token was issued (OIDC
    /// `email_verified`); a refresh after verifying brings `true`. Absent (false) in
    /// tokens issued before the claim existed.
    #[serde(default)]
    pub email_verified: bool,
}

/// Who a token is for; the rest of the claims are derived when it is signed.
#[derive(Debug, Clone)]
pub struct Subject {
    pub account_id: i64,
    pub username: String,
    pub role_id: i16,
    pub amr: Vec<String>,
    pub session_id: String,
    pub auth_time: i64,
    pub email_verified: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token's key id is not one of ours")]
    UnknownKid,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

pub fn issue(
    keys: &KeyRing,
    subject: &Subject,
    ttl: Duration,
    now: i64,
) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.current_kid().to_owned());
    header.typ = Some(TYPE.to_owned());
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: subject.account_id.to_string(),
        account_id: subject.account_id,
        username: subject.username.clone(),
        role_id: subject.role_id,
        iat: now,
        nbf: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        jti: uuid::Uuid::new_v4().to_string(),
        amr: subject.amr.clone(),
        sid: subject.session_id.clone(),
        auth_time: subject.auth_time,
        email_verified: subject.email_verified,
    };
    jsonwebtoken::encode(&header, &claims, keys.signing_key())
        .map_err(|e| TokenError::Signing(e.to_string()))
}

/// RS256 only, one of our `kid`s, `typ: at+jwt`, and `iss`, `aud`, `exp`, `nbf`
/// within `leeway`. Anything else (alg none, HS256, a refresh token) is refused.
pub fn verify(keys: &KeyRing, token: &str, leeway: Duration) -> Result<AccessClaims, TokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Invalid(format!(
            "algorithm {:?} refused",
            header.alg
        )));
    }
    if header.typ.as_deref() != Some(TYPE) {
        return Err(TokenError::Invalid("not an access token".into()));
    }
    let kid = header
        .kid
        .ok_or_else(|| TokenError::Invalid("no kid".into()))?;
    let key = keys.verifying_key(&kid).ok_or(TokenError::UnknownKid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = leeway.as_secs();
    jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use jsonwebtoken::EncodingKey;

    use super::*;
    use crate::{auth::keyring::test_keys, secrets::FromSecret};

    const LEEWAY: Duration = Duration::from_secs(30);

    fn ring(kid: &str) -> (KeyRing, String) {
        let pem = test_keys::pem();
        let ring = KeyRing::parse("sk", &test_keys::secret(&[(kid, "current", &pem)]))
            .unwrap_or_else(|e| panic!("{e}"));
        (ring, pem)
    }

    fn subject() -> Subject {
        Subject {
            account_id: 42,
            username: "alice".into(),
            role_id: 1,
            amr: vec!["pwd".into()],
            session_id: "fam-1".into(),
            auth_time: 0,
            email_verified: true,
        }
    }

    fn now() -> i64 {
        crate::auth::unix_now()
    }

    fn token(ring: &KeyRing) -> String {
        issue(ring, &subject(), Duration::from_secs(900), now()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Signs arbitrary claims with our real private key, to test claim checks alone.
    fn sign_with(pem: &str, kid: &str, typ: &str, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        header.typ = Some(typ.into());
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        jsonwebtoken::encode(&header, &claims, &key).unwrap_or_else(|e| panic!("{e}"))
    }

    fn claims(overrides: serde_json::Value) -> serde_json::Value {
        let now = now();
        let mut claims = serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "42", "accountId": 42, "username": "alice",
            "roleId": 1, "iat": now, "nbf": now, "exp": now + 900, "jti": "j", "amr": ["pwd"], "sid": "f", "auth_time": now,
        });
        if let (Some(base), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        claims
    }

    #[test]
    fn a_token_we_issue_verifies_with_its_claims() {
        let (ring, _) = ring("k1");
        let claims = verify(&ring, &token(&ring), LEEWAY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (claims.account_id, claims.sub.as_str(), claims.sid.as_str()),
            (42, "42", "fam-1")
        );
        assert_eq!(claims.exp - claims.iat, 900);
        let header = jsonwebtoken::decode_header(token(&ring)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (header.kid.as_deref(), header.typ.as_deref()),
            (Some("k1"), Some("at+jwt"))
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let (ring, _) = ring("k1");
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(serde_json::json!({})).to_string());
        assert!(verify(&ring, &format!("{header}.{body}."), LEEWAY).is_err());
    }

    #[test]
    fn hs256_signed_with_our_public_key_is_refused() {
        let (ring, _) = ring("k1");
        let public = serde_json::to_string(ring.jwks()).unwrap_or_default();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        header.typ = Some("at+jwt".into());
        let forged = jsonwebtoken::encode(
            &header,
            &claims(serde_json::json!({})),
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(verify(&ring, &forged, LEEWAY).is_err());
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let (ring, _) = ring("k1");
        let token = token(&ring);
        let parts: Vec<&str> = token.split('.').collect();
        let admin = URL_SAFE_NO_PAD.encode(claims(serde_json::json!({"roleId": 2})).to_string());
        assert!(verify(&ring, &format!("{}.{admin}.{}", parts[0], parts[2]), LEEWAY).is_err());
    }

    #[test]
    fn another_keys_signature_is_refused_and_unknown_kid_is_reported() {
        let (ours, _) = ring("k1");
        let (theirs, _) = ring("k1");
        assert!(matches!(
            verify(&ours, &token(&theirs), LEEWAY),
            Err(TokenError::Invalid(_))
        ));
        let (other_kid, _) = ring("k2");
        assert_eq!(
            verify(&ours, &token(&other_kid), LEEWAY),
            Err(TokenError::UnknownKid)
        );
    }

    #[test]
    fn expiry_issuer_audience_nbf_and_type_are_checked() {
        let (ring, pem) = ring("k1");
        let now = now();
        let cases = [
            (
                "expired past the leeway",
                claims(serde_json::json!({"exp": now - 31})),
                "at+jwt",
            ),
            (
                "wrong issuer",
                claims(serde_json::json!({"iss": "someone-else"})),
                "at+jwt",
            ),
            (
                "wrong audience",
                claims(serde_json::json!({"aud": "another-api"})),
                "at+jwt",
            ),
            (
                "not yet valid",
                claims(serde_json::json!({"nbf": now + 120})),
                "at+jwt",
            ),
            (
                "a refresh token's type",
                claims(serde_json::json!({})),
                "rt+jwt",
            ),
        ];
        for (what, claims, typ) in cases {
            assert!(
                verify(&ring, &sign_with(&pem, "k1", typ, claims), LEEWAY).is_err(),
                "{what} was accepted"
            );
        }
        let within_leeway = sign_with(
            &pem,
            "k1",
            "at+jwt",
            claims(serde_json::json!({"exp": now - 5})),
        );
        assert!(verify(&ring, &within_leeway, LEEWAY).is_ok());
    }
}
