//! Two-factor auth material: RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps, 160-bit
//! secrets), the secret sealed with AES-256-GCM for storage, and single-use backup
//! codes stored as keyed hashes.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hmac,
    rand::{SecureRandom, SystemRandom},
};
use qrcode::{QrCode, render::svg};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::secrets::HmacKey;

pub const ISSUER: &str = "Blue Harvest";
const STEP_SECONDS: u64 = 30;
const DIGITS: u8 = 6;
const SECRET_BYTES: usize = 20;
const BACKUP_CODES: usize = 10;
/// Backup-code alphabet: no 0/1/l/o to misread.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TwoFactorError {
    #[error("no randomness available")]
    Random,
    #[error("totp: {0}")]
    Totp(String),
    #[error("the stored secret cannot be opened")]
    Sealed,
}

fn random<const N: usize>() -> Result<[u8; N], TwoFactorError> {
    let mut bytes = [0_u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TwoFactorError::Random)?;
    Ok(bytes)
}

pub fn new_secret() -> Result<Vec<u8>, TwoFactorError> {
    Ok(random::<SECRET_BYTES>()?.to_vec())
}

fn totp(secret: &[u8], account: &str, skew: u8) -> Result<Totp, TwoFactorError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(u16::from(skew))
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| TwoFactorError::Totp(e.to_string()))
}

/// What an authenticator app needs: the base32 secret, the otpauth:// URL, a QR code.
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

pub fn enrolment(secret: &[u8], account: &str) -> Result<Enrolment, TwoFactorError> {
    let url = totp(secret, account, 0)?
        .to_url()
        .map_err(|e| TwoFactorError::Totp(e.to_string()))?;
    let qr = QrCode::new(url.as_bytes()).map_err(|e| TwoFactorError::Totp(e.to_string()))?;
    Ok(Enrolment {
        secret_base32: Secret::from(secret.to_vec()).to_base32(),
        qr_svg: qr
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        otpauth_url: url,
    })
}

/// The time step `code` belongs to, if it is valid within `skew` steps of `now`.
/// The caller must refuse a step already used (RFC 6238 §5.2).
pub fn matching_step(secret: &[u8], code: &str, now: u64, skew: u8) -> Option<u64> {
    totp(secret, "-", skew).ok()?.check(code.trim(), now)
}

/// The code for `time` (tests and tools compute what an authenticator would show).
pub fn code_at(secret: &[u8], time: u64) -> Result<String, TwoFactorError> {
    Ok(totp(secret, "-", 0)?.generate(time).to_string())
}

fn aead_key(key: &HmacKey) -> Result<LessSafeKey, TwoFactorError> {
    let bytes = key.expose().get(..32).ok_or(TwoFactorError::Sealed)?;
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| TwoFactorError::Sealed)
}

/// `nonce || ciphertext || tag`, bound to the account (a sealed secret copied to
/// another account's row does not open).
pub fn seal(key: &HmacKey, account_id: i64, secret: &[u8]) -> Result<Vec<u8>, TwoFactorError> {
    let nonce = random::<NONCE_LEN>()?;
    let mut data = secret.to_vec();
    aead_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(account_id.to_be_bytes()),
            &mut data,
        )
        .map_err(|_| TwoFactorError::Sealed)?;
    Ok([nonce.as_slice(), &data].concat())
}

pub fn open(key: &HmacKey, account_id: i64, sealed: &[u8]) -> Result<Vec<u8>, TwoFactorError> {
    if sealed.len() < NONCE_LEN {
        return Err(TwoFactorError::Sealed);
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| TwoFactorError::Sealed)?;
    let mut data = data.to_vec();
    let plain = aead_key(key)?
        .open_in_place(nonce, Aad::from(account_id.to_be_bytes()), &mut data)
        .map_err(|_| TwoFactorError::Sealed)?;
    Ok(plain.to_vec())
}

/// Ten codes like `k7hx2-m9qpa` (50 bits each), shown to the user once.
pub fn new_backup_codes() -> Result<Vec<String>, TwoFactorError> {
    (0..BACKUP_CODES)
        .map(|_| {
            let bytes = random::<10>()?;
            let chars: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            Ok(format!("{}-{}", &chars[..5], &chars[5..]))
        })
        .collect()
}

/// Keyed hash of a backup code (HMAC-SHA256, hex); a database leak alone cannot be
/// brute-forced offline. Case, spaces and dashes do not matter.
pub fn backup_code_hash(key: &HmacKey, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.expose()),
        normalized.as_bytes(),
    );
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{AppKeys, FromSecret};
    use base64::{Engine, engine::general_purpose::STANDARD};

    fn key() -> HmacKey {
        let k = STANDARD.encode([9_u8; 32]);
        let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
        match AppKeys::parse("t", &raw.to_string()) {
            Ok(keys) => keys.totp,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn rfc6238_sha1_test_vector() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 s: 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        assert_eq!(
            code_at(b"12345678901234567890", 59),
            Ok("287082".to_owned())
        );
    }

    #[test]
    fn codes_match_their_step_within_the_skew() -> Result<(), TwoFactorError> {
        let secret = new_secret()?;
        let now = 1_800_000_000;
        let code = code_at(&secret, now - 30)?;
        assert_eq!(matching_step(&secret, &code, now, 1), Some(now / 30 - 1));
        assert_eq!(matching_step(&secret, &code, now, 0), None);
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now - 90)?, now, 1),
            None
        );
        Ok(())
    }

    #[test]
    fn sealed_secrets_open_only_for_their_account() -> Result<(), TwoFactorError> {
        let secret = new_secret()?;
        let sealed = seal(&key(), 7, &secret)?;
        assert_ne!(
            &sealed[NONCE_LEN..NONCE_LEN + secret.len()],
            secret.as_slice()
        );
        assert_eq!(open(&key(), 7, &sealed)?, secret);
        assert_eq!(open(&key(), 8, &sealed), Err(TwoFactorError::Sealed));
        Ok(())
    }

    #[test]
    fn enrolment_has_an_otpauth_url_and_an_svg() -> Result<(), TwoFactorError> {
        let secret = new_secret()?;
        let enrolment = enrolment(&secret, "ada")?;
        assert!(enrolment.otpauth_url.starts_with("otpauth://totp/"));
        assert!(
            enrolment
                .otpauth_url
                .contains(&format!("secret={}", enrolment.secret_base32))
        );
        assert!(enrolment.qr_svg.contains("<svg"));
        Ok(())
    }

    #[test]
    fn backup_codes_are_distinct_and_hash_case_insensitively() -> Result<(), TwoFactorError> {
        let codes = new_backup_codes()?;
        assert_eq!(codes.len(), 10);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            10
        );
        let code = &codes[0];
        assert_eq!(
            backup_code_hash(&key(), code),
            backup_code_hash(&key(), &code.to_uppercase().replace('-', " "))
        );
        assert_ne!(
            backup_code_hash(&key(), code),
            backup_code_hash(&key(), &codes[1])
        );
        Ok(())
    }
}
