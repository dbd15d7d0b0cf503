//! The RS256 signing keys: the key-set secret's types ([`SigningKeySet`] of
//! [`SigningKey`]s, checked when fetched), and the [`KeyRing`] parsed once per fetch:
//! the current key signs, every key (current and previous) verifies, and the JWKS is
//! pre-rendered.

use std::collections::{HashMap, HashSet};

use aws_lc_rs::{
    digest,
    encoding::AsDer,
    rsa::KeySize,
    signature::{KeyPair, RsaKeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

use crate::secrets::parse::{FromSecret, SecretsError, malformed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new tokens.
    Current,
    /// Only verifies tokens signed before the last rotation.
    Previous,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    pub kid: String,
    pub private_key_pem: SecretString,
    pub status: KeyStatus,
    /// Unix seconds; absent in sets made by hand.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// When the key stopped signing (status previous), in Unix seconds.
    #[serde(default)]
    pub retired_at: Option<i64>,
}

impl SigningKey {
    /// The secret's JSON form of the key (the only place a private key is serialized).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kid": self.kid,
            "privateKeyPem": self.private_key_pem.expose_secret(),
            "status": self.status,
            "createdAt": self.created_at,
            "retiredAt": self.retired_at,
        })
    }
}

/// The RS256 key set: exactly one current key, any number of previous ones.
#[derive(Debug)]
pub struct SigningKeySet {
    keys: Vec<SigningKey>,
}

impl SigningKeySet {
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(SigningKey::to_json).collect::<Vec<_>>() })
    }
}

impl FromSecret for SigningKeySet {
    fn parse(id: &str, raw: &str) -> Result<Self, SecretsError> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<SigningKey>,
        }
        let Raw { keys } = serde_json::from_str(raw).map_err(|e| malformed(id, e))?;
        Self::from_keys(id, keys)
    }
}

impl SigningKeySet {
    /// A set of keys, checked: exactly one current key, unique non-empty kids, PEM.
    pub fn from_keys(id: &str, keys: Vec<SigningKey>) -> Result<Self, SecretsError> {
        let current = keys
            .iter()
            .filter(|k| k.status == KeyStatus::Current)
            .count();
        if current != 1 {
            return Err(malformed(
                id,
                format!("{current} current keys; exactly one is required"),
            ));
        }
        let mut seen = HashSet::new();
        for key in &keys {
            if key.kid.trim().is_empty() || !seen.insert(key.kid.as_str()) {
                return Err(malformed(
                    id,
                    format!("kid {:?} is empty or repeated", key.kid),
                ));
            }
            if !key
                .private_key_pem
                .expose_secret()
                .starts_with("-----BEGIN")
            {
                return Err(malformed(id, format!("key {} is not PEM", key.kid)));
            }
        }
        Ok(Self { keys })
    }
}

/// RSA moduli below this are refused (NIST SP 800-131A).
const MIN_MODULUS_BITS: usize = 2048;

pub struct KeyRing {
    current_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: JwkSet,
}

/// The public halves of the signing keys that verify access tokens (RFC 7517): the
/// current key and the previous one while its tokens live.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// One RSA public key.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    pub kty: KeyType,
    /// The key's id, as access tokens name it in their header.
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: KeyUse,
    pub alg: KeyAlgorithm,
    /// The modulus, base64url.
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum KeyType {
    #[serde(rename = "RSA")]
    Rsa,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum KeyUse {
    /// Signatures.
    #[serde(rename = "sig")]
    Sig,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum KeyAlgorithm {
    #[serde(rename = "RS256")]
    Rs256,
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
    pub fn jwks(&self) -> &JwkSet {
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
            jwks.push(Jwk {
                kty: KeyType::Rsa,
                kid: key.kid.clone(),
                key_use: KeyUse::Sig,
                alg: KeyAlgorithm::Rs256,
                n,
                e,
            });
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
            jwks: JwkSet { keys: jwks },
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
        let jwks = serde_json::to_value(ring.jwks()).unwrap_or_default()["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default();
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
        let jwks = serde_json::to_value(ring.jwks()).unwrap_or_default();
        let jwk = &jwks["keys"][0];
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

    fn key(kid: &str, status: &str) -> serde_json::Value {
        serde_json::json!({"kid": kid, "privateKeyPem": "-----BEGIN PRIVATE KEY-----\n...", "status": status})
    }

    #[test]
    fn signing_key_set_needs_exactly_one_current_key() {
        let one = serde_json::json!({"keys": [key("a", "current"), key("b", "previous")]});
        let set = SigningKeySet::parse("sk", &one.to_string());
        assert_eq!(set.map(|s| s.keys().len()).ok(), Some(2));

        let two = serde_json::json!({"keys": [key("a", "current"), key("b", "current")]});
        assert!(SigningKeySet::parse("sk", &two.to_string()).is_err());
        let none = serde_json::json!({"keys": [key("a", "previous")]});
        assert!(SigningKeySet::parse("sk", &none.to_string()).is_err());
    }

    #[test]
    fn signing_key_ids_are_unique() {
        let dup = serde_json::json!({"keys": [key("a", "current"), key("a", "previous")]});
        assert!(SigningKeySet::parse("sk", &dup.to_string()).is_err());
    }

    #[test]
    fn debug_output_redacts_private_keys() -> Result<(), SecretsError> {
        let set = SigningKeySet::parse(
            "sk",
            &serde_json::json!({"keys": [key("a", "current")]}).to_string(),
        )?;
        assert!(!format!("{set:?}").contains("BEGIN PRIVATE KEY"));
        Ok(())
    }
}
