//! HS256 tokens of our own (refresh, MFA): one signer and one verifier, so every kind
//! checks algorithm, type, issuer and audience the same way. A token of one kind never
//! verifies as another: each has its own `typ` and `aud`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Serialize, de::DeserializeOwned};

use super::access::{ISSUER, TokenError};
use crate::secrets::HmacKey;

pub fn sign<T: Serialize>(key: &HmacKey, typ: &str, claims: &T) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key.expose()))
        .map_err(|e| TokenError::Signing(e.to_string()))
}

/// HS256 only, this `typ` and `aud`, our issuer, unexpired (no leeway: we issued it).
pub fn verify<T: DeserializeOwned>(
    key: &HmacKey,
    token: &str,
    typ: &str,
    audience: &str,
) -> Result<T, TokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(typ) {
        return Err(TokenError::Invalid(format!("not a {typ} token")));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<T>(token, &DecodingKey::from_secret(key.expose()), &validation)
        .map(|data| data.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}
