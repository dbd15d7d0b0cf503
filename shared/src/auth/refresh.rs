//! Refresh tokens: HS256 JWTs signed with the refresh key, naming a token family and
//! its generation. What makes one valid is the family's state in DynamoDB
//! (`store::families`); the signature only proves we issued it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secrets::HmacKey;

use super::{
    access::{ISSUER, TokenError},
    hmac_jwt,
};

/// Its own audience and type, so neither kind of token passes for the other.
const AUDIENCE: &str = "blue-harvest-refresh";
const TYPE: &str = "rt+jwt";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Family id.
    pub fam: String,
    /// Generation within the family; only the family's current one may rotate.
    #[serde(rename = "gen")]
    pub generation: u64,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub fn issue(
    key: &HmacKey,
    account_id: i64,
    family: &str,
    generation: u64,
    ttl: Duration,
    now: i64,
) -> Result<String, TokenError> {
    let claims = RefreshClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: account_id.to_string(),
        fam: family.to_owned(),
        generation,
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
    };
    hmac_jwt::sign(key, TYPE, &claims)
}

pub fn verify(key: &HmacKey, token: &str) -> Result<RefreshClaims, TokenError> {
    hmac_jwt::verify(key, token, TYPE, AUDIENCE)
}
