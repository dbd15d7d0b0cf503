//! The RS256 signing keys, parsed once per fetch of the key-set secret: the current
//! key signs, every key (current and previous) verifies, and the JWKS is pre-rendered.

use std::collections::HashMap;

use aws_lc_rs::{
    digest,
    encoding::AsDer,
    rsa::KeySize,
    signature::{KeyPair, RsaKeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::secrets::{FromSecret, KeyStatus, SecretsError, SigningKeySet};

/// RSA moduli below this are refused (NIST SP 800-131A).
const MIN_MODULUS_BITS: usize = 2048;

pub struct KeyRing {
    current_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
}

impl KeyRing {
    pub fn current_kid(&self) -> &str {
        &self.current_kid
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// `{"keys": [{kty, kid, use, alg, n, e}]}` for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}

impl FromSecret for KeyRing {
    fn parse(id: &str, raw: &str) -> Result<Self, SecretsError> {
        let set = SigningKeySet::parse(id, raw)?;
        let malformed = |kid: &str, reason: &str| SecretsError::Malformed {
            id: id.to_owned(),
            reason: format!("key {kid}: {reason}"),
        };
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        let mut current = None;
        for key in set.keys() {
            let pem = key.private_key_pem.expose_secret();
            let der = pkcs8_der(pem).ok_or_else(|| malformed(&key.kid, "not a PKCS#8 PEM"))?;
            let pair = RsaKeyPair::from_pkcs8(&der)
                .map_err(|_| malformed(&key.kid, "not an RSA private key"))?;
            if pair.public_modulus_len() * 8 < MIN_MODULUS_BITS {
                return Err(malformed(&key.kid, "RSA modulus below 2048 bits"));
            }
            let (n, e) = public_components(&pair);
            let decoding = DecodingKey::from_rsa_components(&n, &e)
                .map_err(|_| malformed(&key.kid, "unusable public key"))?;
            verifying.insert(key.kid.clone(), decoding);
            jwks.push(
                json!({"kty": "RSA", "kid": key.kid, "use": "sig", "alg": "RS256", "n": n, "e": e}),
            );
            if key.status == KeyStatus::Current {
                let signing = EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|_| malformed(&key.kid, "unusable private key"))?;
                current = Some((key.kid.clone(), signing));
            }
        }
        let (current_kid, signing) = current.ok_or_else(|| malformed("-", "no current key"))?;
        Ok(Self {
            current_kid,
            signing,
            verifying,
            jwks: json!({ "keys": jwks }),
        })
    }
}

/// The JWK `n` and `e` (base64url) of a key pair.
fn public_components(pair: &RsaKeyPair) -> (String, String) {
    let public = pair.public_key();
    (
        URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    )
}

/// A new RSA-2048 signing key: `(kid, PKCS#8 PEM)`, the kid being the key's RFC 7638
/// JWK thumbprint (the same rule `scripts/provision.py` follows).
pub fn generate_key() -> Result<(String, SecretString), SecretsError> {
    let failed = || SecretsError::Malformed {
        id: "new signing key".into(),
        reason: "RSA key generation failed".into(),
    };
    let generated = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed())?;
    let der = generated.as_der().map_err(|_| failed())?;
    let pair = RsaKeyPair::from_pkcs8(der.as_ref()).map_err(|_| failed())?;
    let (n, e) = public_components(&pair);
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    Ok((kid, SecretString::from(pem)))
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
fn pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let base64: String = body.split_whitespace().collect();
    STANDARD.decode(base64).ok()
}

/// Key-set secrets with freshly generated RSA-2048 keys, for unit tests.
#[cfg(test)]
pub(crate) mod test_keys {

    pub fn pem() -> String {
        use secrecy::ExposeSecret;
        match super::generate_key() {
            Ok((_, pem)) => pem.expose_secret().to_owned(),
            Err(e) => panic!("{e}"),
        }
    }

    /// `(kid, status)` pairs to a secret string.
    pub fn secret(keys: &[(&str, &str, &str)]) -> String {
        let keys: Vec<_> = keys
            .iter()
            .map(|(kid, status, pem)| serde_json::json!({"kid": kid, "status": status, "privateKeyPem": pem}))
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_key_set_and_publishes_every_key() -> Result<(), SecretsError> {
        let (a, b) = (test_keys::pem(), test_keys::pem());
        let ring = KeyRing::parse(
            "sk",
            &test_keys::secret(&[("old", "previous", &a), ("new", "current", &b)]),
        )?;
        assert_eq!(ring.current_kid(), "new");
        assert!(ring.verifying_key("old").is_some() && ring.verifying_key("new").is_some());
        let jwks = ring.jwks()["keys"].as_array().cloned().unwrap_or_default();
        assert_eq!(jwks.len(), 2);
        for key in jwks {
            assert_eq!(
                (
                    key["kty"].as_str(),
                    key["alg"].as_str(),
                    key["use"].as_str()
                ),
                (Some("RSA"), Some("RS256"), Some("sig"))
            );
            assert_eq!(key["e"], "AQAB");
            assert!(
                key.get("d").is_none(),
                "a JWKS must never publish private parts"
            );
        }
        Ok(())
    }

    #[test]
    fn generated_keys_are_named_by_their_thumbprint() -> Result<(), SecretsError> {
        let (kid, pem) = generate_key()?;
        let ring = KeyRing::parse(
            "sk",
            &test_keys::secret(&[(&kid, "current", pem.expose_secret())]),
        )?;
        let jwk = &ring.jwks()["keys"][0];
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap_or(""),
            jwk["n"].as_str().unwrap_or("")
        );
        let expected =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
        assert_eq!(kid, expected);
        Ok(())
    }

    #[test]
    fn refuses_keys_that_are_not_rsa_pkcs8() {
        let secret = test_keys::secret(&[(
            "k",
            "current",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        )]);
        assert!(KeyRing::parse("sk", &secret).is_err());
    }
}
