//! CSRF tokens: OWASP's signed double-submit cookie. A token is
//! `binding.random.HMAC(csrf key, binding, random)`, the binding (base64url) being the
//! session it was issued for: the refresh-token family, or [`ANONYMOUS`]. A request
//! passes when the `X-CSRF-Token` header equals the CSRF cookie and the MAC verifies
//! for the request's own session, so a token planted by an attacker (cookie tossing)
//! or lifted from another session does not work.
//!
//! The token names its session so that `GET /api/csrf-token`, which the refresh
//! cookie (Path=/api/auth) never reaches, can tell from the CSRF cookie alone which
//! session the caller holds ([`binding_of`]), and answer that session's token.

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

fn tag(key: &HmacKey, binding: &str, random: &str) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    hmac::sign(&key, mac_input(binding, random).as_bytes())
}

pub fn issue(key: &HmacKey, binding: &str) -> Result<String, CsrfError> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CsrfError::Random)?;
    let random = URL_SAFE_NO_PAD.encode(bytes);
    let tag = tag(key, binding, &random);
    Ok(format!(
        "{}.{random}.{}",
        URL_SAFE_NO_PAD.encode(binding),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    ))
}

/// The binding a token names, when the MAC proves we issued it for that binding.
fn genuine(key: &HmacKey, token: &str) -> Result<String, CsrfError> {
    let mut parts = token.split('.');
    let (Some(binding), Some(random), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CsrfError::Forged);
    };
    let binding = URL_SAFE_NO_PAD
        .decode(binding)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(CsrfError::Forged)?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| CsrfError::Forged)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    hmac::verify(&key, mac_input(&binding, random).as_bytes(), &mac)
        .map_err(|_| CsrfError::Forged)?;
    Ok(binding)
}

/// The session a genuine token was issued for (`GET /api/csrf-token` reads the CSRF
/// cookie with it); `None` for anything we did not issue.
pub fn binding_of(key: &HmacKey, token: &str) -> Option<String> {
    genuine(key, token).ok()
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
    // Genuine, and for this session: another session's token is as good as forged.
    if genuine(key, header)? == binding {
        Ok(())
    } else {
        Err(CsrfError::Forged)
    }
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
        for garbage in ["abc.def", "ZmFtaWx5.abc.def", "a.b.c.d", "", "..", "!!.x.y"] {
            assert_eq!(
                verify(&key(1), "f", Some(garbage), Some(garbage)),
                Err(CsrfError::Forged),
                "{garbage}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_token_with_another_binding_spliced_in_is_refused() -> Result<(), CsrfError> {
        let token = issue(&key(1), "family-1")?;
        let (_, rest) = token.split_once('.').unwrap_or_default();
        let spliced = format!("{}.{rest}", URL_SAFE_NO_PAD.encode("family-2"));
        assert_eq!(
            verify(&key(1), "family-2", Some(&spliced), Some(&spliced)),
            Err(CsrfError::Forged)
        );
        assert_eq!(binding_of(&key(1), &spliced), None);
        Ok(())
    }

    #[test]
    fn a_genuine_token_names_its_session() -> Result<(), CsrfError> {
        let token = issue(&key(1), "family-1")?;
        assert_eq!(binding_of(&key(1), &token).as_deref(), Some("family-1"));
        assert_eq!(binding_of(&key(2), &token), None, "another key");
        let anonymous = issue(&key(1), ANONYMOUS)?;
        assert_eq!(binding_of(&key(1), &anonymous).as_deref(), Some(ANONYMOUS));
        Ok(())
    }
}
