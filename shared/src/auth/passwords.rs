//! argon2id password hashing (PHC strings), off the async runtime's threads.

use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::config::Argon2Config;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub struct Passwords {
    argon2: Argon2<'static>,
    config: Argon2Config,
    /// A well-formed hash with the configured cost that matches no password: unknown
    /// accounts are verified against it so they cost the same time as known ones.
    dummy_hash: String,
    verifications: AtomicU64,
}

impl Passwords {
    pub fn new(config: Argon2Config) -> Result<Self, PasswordError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(config.output_len),
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        let dummy_hash = format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            config.memory_kib,
            config.iterations,
            config.parallelism,
            STANDARD_NO_PAD.encode([0x5a_u8; 16]),
            STANDARD_NO_PAD.encode(vec![0_u8; config.output_len]),
        );
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            config,
            dummy_hash,
            verifications: AtomicU64::new(0),
        })
    }

    /// A PHC string with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let argon2 = self.argon2.clone();
        let password = SecretString::from(password);
        tokio::task::spawn_blocking(move || {
            argon2
                .hash_password(password.expose_secret().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
    }

    /// True when `password` matches `phc`. `None` verifies against the dummy hash
    /// (always false) at the same cost, for accounts that do not exist.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let argon2 = self.argon2.clone();
        let password = SecretString::from(password);
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc).is_ok_and(|hash| {
                argon2
                    .verify_password(password.expose_secret().as_bytes(), &hash)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false)
    }

    /// True when the hash was made with other parameters than the configured ones.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm.as_str() != "argon2id"
            || params.m_cost() != self.config.memory_kib
            || params.t_cost() != self.config.iterations
            || params.p_cost() != self.config.parallelism
            || hash.hash.map(|output| output.len()) != Some(self.config.output_len)
    }

    /// How many verifications ran (unknown accounts included); lets tests show that
    /// both login failures do the same work without timing them.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cheap parameters: these tests are about behaviour, not cost.
    const CHEAP: Argon2Config = Argon2Config {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        output_len: 32,
    };

    fn passwords(config: Argon2Config) -> Passwords {
        Passwords::new(config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn hash_then_verify() -> Result<(), PasswordError> {
        let p = passwords(CHEAP);
        let hash = p.hash("correct horse battery staple").await?;
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(p.verify("correct horse battery staple", Some(&hash)).await);
        assert!(!p.verify("wrong horse battery staple", Some(&hash)).await);
        Ok(())
    }

    #[tokio::test]
    async fn the_dummy_hash_is_verified_and_never_matches() {
        let p = passwords(CHEAP);
        assert!(PasswordHash::new(&p.dummy_hash).is_ok(), "{}", p.dummy_hash);
        assert!(
            !p.needs_rehash(&p.dummy_hash),
            "dummy must cost what a real hash costs"
        );
        let before = p.verifications();
        assert!(!p.verify("anything at all", None).await);
        assert_eq!(p.verifications(), before + 1);
    }

    #[tokio::test]
    async fn other_parameters_need_a_rehash() -> Result<(), PasswordError> {
        let old = passwords(CHEAP)
            .hash("correct horse battery staple")
            .await?;
        let stronger = passwords(Argon2Config {
            iterations: 2,
            ..CHEAP
        });
        assert!(stronger.needs_rehash(&old));
        assert!(!passwords(CHEAP).needs_rehash(&old));
        // A hash with other parameters still verifies: the PHC string carries them.
        assert!(
            stronger
                .verify("correct horse battery staple", Some(&old))
                .await
        );
        Ok(())
    }
}
