//! CSRF tokens: OWASP's signed double-submit cookie. A token is
//! `random.HMAC(csrf key, binding, random)`, where the binding is the session (the
//! refresh-token family) it was issued for. A request passes when the `X-CSRF-Token`
//! header equals the `bh_csrf` cookie and the MAC verifies for the request's session,
//! so a token planted by an attacker (cookie tossing) or lifted from another session
//! does not work.

use aws_lc_rs::{
    constant_time, hmac,
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::secrets::HmacKey;

/// The binding of a token issued to a caller without a session.
pub const ANONYMOUS: &str = "anonymous";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsrfError {
    #[error("no CSRF token in the header or the cookie")]
    Missing,
    #[error("the CSRF header and cookie differ")]
    Mismatch,
    #[error("the CSRF token was not issued by us for this session")]
    Forged,
    #[error("no randomness available")]
    Random,
}

fn mac_input(binding: &str, random: &str) -> String {
    // Length-prefixed so no two (binding, random) pairs give the same input.
    format!("{}!{binding}!{}!{random}", binding.len(), random.len())
}

pub fn issue(key: &HmacKey, binding: &str) -> Result<String, CsrfError> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CsrfError::Random)?;
    let random = URL_SAFE_NO_PAD.encode(bytes);
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    let tag = hmac::sign(&key, mac_input(binding, &random).as_bytes());
    Ok(format!("{random}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())))
}

pub fn verify(
    key: &HmacKey,
    binding: &str,
    header: Option<&str>,
    cookie: Option<&str>,
) -> Result<(), CsrfError> {
    let (Some(header), Some(cookie)) = (header, cookie) else {
        return Err(CsrfError::Missing);
    };
    constant_time::verify_slices_are_equal(header.as_bytes(), cookie.as_bytes())
        .map_err(|_| CsrfError::Mismatch)?;
    let (random, tag) = header.split_once('.').ok_or(CsrfError::Forged)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CsrfError::Forged)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    hmac::verify(&key, mac_input(binding, random).as_bytes(), &tag).map_err(|_| CsrfError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{AppKeys, FromSecret};
    use base64::engine::general_purpose::STANDARD;

    fn key(fill: u8) -> HmacKey {
        let raw = serde_json::json!({
            "refreshKey": STANDARD.encode([fill; 32]),
            "csrfKey": STANDARD.encode([fill; 32]),
            "cursorKey": STANDARD.encode([fill; 32]),
            "totpKey": STANDARD.encode([fill; 32]),
            "backupCodeKey": STANDARD.encode([fill; 32]),
        });
        match AppKeys::parse("test", &raw.to_string()) {
            Ok(keys) => keys.csrf,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_token_verifies_for_its_own_session() -> Result<(), CsrfError> {
        let token = issue(&key(1), "family-1")?;
        verify(&key(1), "family-1", Some(&token), Some(&token))
    }

    #[test]
    fn missing_header_or_cookie_is_refused() -> Result<(), CsrfError> {
        let token = issue(&key(1), "f")?;
        assert_eq!(
            verify(&key(1), "f", None, Some(&token)),
            Err(CsrfError::Missing)
        );
        assert_eq!(
            verify(&key(1), "f", Some(&token), None),
            Err(CsrfError::Missing)
        );
        Ok(())
    }

    #[test]
    fn header_and_cookie_must_match() -> Result<(), CsrfError> {
        let (a, b) = (issue(&key(1), "f")?, issue(&key(1), "f")?);
        assert_eq!(
            verify(&key(1), "f", Some(&a), Some(&b)),
            Err(CsrfError::Mismatch)
        );
        Ok(())
    }

    #[test]
    fn another_sessions_token_is_refused() -> Result<(), CsrfError> {
        let token = issue(&key(1), "family-1")?;
        let err = verify(&key(1), "family-2", Some(&token), Some(&token));
        assert_eq!(err, Err(CsrfError::Forged));
        Ok(())
    }

    #[test]
    fn a_token_made_without_our_key_is_refused() -> Result<(), CsrfError> {
        let forged = issue(&key(2), "f")?;
        assert_eq!(
            verify(&key(1), "f", Some(&forged), Some(&forged)),
            Err(CsrfError::Forged)
        );
        let garbage = "abc.def";
        assert_eq!(
            verify(&key(1), "f", Some(garbage), Some(garbage)),
            Err(CsrfError::Forged)
        );
        Ok(())
    }
}
