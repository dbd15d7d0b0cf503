//! The MFA token: proof that the password was right, good only for
//! `POST /api/auth/2fa/verify`, five minutes, once (its `jti` is tracked in DynamoDB by
//! `store::mfa`). HS256 with the refresh key under its own audience and type.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::access::{ISSUER, TokenError};
use crate::secrets::HmacKey;

const AUDIENCE: &str = "blue-harvest-mfa";
const TYPE: &str = "mfa+jwt";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MfaClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl MfaClaims {
    pub fn account_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

pub fn issue(
    key: &HmacKey,
    account_id: i64,
    ttl: Duration,
    now: i64,
) -> Result<String, TokenError> {
    let claims = MfaClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: account_id.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(TYPE.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key.expose()))
        .map_err(|e| TokenError::Signing(e.to_string()))
}

pub fn verify(key: &HmacKey, token: &str) -> Result<MfaClaims, TokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(TYPE) {
        return Err(TokenError::Invalid("not an MFA token".into()));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<MfaClaims>(token, &DecodingKey::from_secret(key.expose()), &validation)
        .map(|data| data.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}
