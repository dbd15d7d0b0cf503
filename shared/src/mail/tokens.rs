//! The tokens of mailed links (password reset, email verification, email change).
//!
//! A token is 32 random bytes (256 bits), sent once in a mail and never stored: the
//! `email_tokens` table keeps HMAC-SHA256 of it under a key derived from the app keys,
//! so the table, its backups and the replica hold nothing a link could be made from,
//! and nobody without the key can test guesses against it. A token is redeemed by one
//! conditional UPDATE (`used_at IS NULL AND expires_at > now()`): of two concurrent
//! uses exactly one finds the row unused. Issuing a token retires the account's older
//! open tokens of the same purpose, so only the latest link works.

use std::time::Duration;

use aws_lc_rs::{
    hmac,
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgConnection;

use crate::{domain::Email, error::ApiError, secrets::HmacKey, store::StoreError};

const TOKEN_BYTES: usize = 32;
/// Base64url without padding of 32 bytes.
const TOKEN_CHARS: usize = 43;

/// What a link proves, and so what redeeming it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
    EmailChange,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::EmailChange => "email_change",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            Self::PasswordReset,
            Self::EmailVerification,
            Self::EmailChange,
        ]
        .into_iter()
        .find(|purpose| purpose.as_str() == raw)
    }
}

/// One answer for every link that does not work (used, expired, forged, retired,
/// malformed, or its account gone), so an answer tells nothing about which.
pub fn invalid_link() -> ApiError {
    ApiError::validation("This link is invalid or has expired")
}

/// A link's token; never printed.
pub struct LinkToken(SecretString);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no randomness available")]
pub struct RandomError;

impl From<RandomError> for ApiError {
    fn from(error: RandomError) -> Self {
        ApiError::internal(error)
    }
}

impl LinkToken {
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| RandomError)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes).into()))
    }

    /// A token as a client sent it: exactly the shape we make, else the generic 400.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let raw = raw.trim();
        let well_formed = raw.len() == TOKEN_CHARS
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES);
        if well_formed {
            Ok(Self(raw.to_owned().into()))
        } else {
            Err(invalid_link())
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// What the table stores: HMAC-SHA256 under the email-token key.
    pub fn hash(&self, key: &HmacKey) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
        hmac::sign(&key, self.expose().as_bytes()).as_ref().to_vec()
    }
}

/// A new token for `account_id`'s `email`, in the caller's transaction; the account's
/// open tokens of this purpose stop working.
pub async fn issue(
    tx: &mut PgConnection,
    key: &HmacKey,
    purpose: Purpose,
    account_id: i64,
    email: &Email,
    ttl: Duration,
) -> Result<LinkToken, IssueError> {
    let token = LinkToken::generate()?;
    retire(&mut *tx, account_id, purpose).await?;
    sqlx::query!(
        "INSERT INTO email_tokens (token_hash, purpose, account_id, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        token.hash(key),
        purpose.as_str(),
        account_id,
        email.as_str(),
        ttl.as_secs_f64()
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    Ok(token)
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<IssueError> for ApiError {
    fn from(error: IssueError) -> Self {
        match error {
            IssueError::Random(e) => e.into(),
            IssueError::Store(e) => e.into(),
        }
    }
}

/// Every open token of the account for `purpose` stops working.
pub async fn retire(
    tx: &mut PgConnection,
    account_id: i64,
    purpose: Purpose,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE email_tokens SET used_at = now()
         WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
        account_id,
        purpose.as_str()
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// What a working token was for.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub purpose: Purpose,
    pub account_id: i64,
    /// The address the link was mailed to.
    pub email: Email,
}

fn redeemed(row: (String, i64, String)) -> Option<Redeemed> {
    let (purpose, account_id, email) = row;
    Some(Redeemed {
        purpose: Purpose::parse(&purpose)?,
        account_id,
        email: Email::parse(&email).ok()?,
    })
}

/// Looks a token up without using it (a password reset checks the new password
/// against the account before it spends the link).
pub async fn peek(
    executor: &mut PgConnection,
    key: &HmacKey,
    token: &LinkToken,
    purposes: &[Purpose],
) -> Result<Option<Redeemed>, StoreError> {
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    let row = sqlx::query!(
        "SELECT purpose, account_id, email FROM email_tokens
         WHERE token_hash = $1 AND purpose = ANY($2) AND used_at IS NULL AND expires_at > now()",
        token.hash(key),
        // text[] from &str, which the macro's check (String) does not know.
        &purposes as _
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.and_then(|row| redeemed((row.purpose, row.account_id, row.email))))
}

/// Uses a token, in the caller's transaction: `None` unless it is one of ours, of one
/// of `purposes`, unused and unexpired. Of concurrent uses exactly one gets `Some`
/// (the row lock makes the others re-check `used_at` after it commits).
pub async fn redeem(
    tx: &mut PgConnection,
    key: &HmacKey,
    token: &LinkToken,
    purposes: &[Purpose],
) -> Result<Option<Redeemed>, StoreError> {
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    let row = sqlx::query!(
        "UPDATE email_tokens SET used_at = now()
         WHERE token_hash = $1 AND purpose = ANY($2) AND used_at IS NULL AND expires_at > now()
         RETURNING purpose, account_id, email",
        token.hash(key),
        // text[] from &str, which the macro's check (String) does not know.
        &purposes as _
    )
    .fetch_optional(tx)
    .await?
    .map(|row| (row.purpose, row.account_id, row.email));
    Ok(row.and_then(redeemed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> HmacKey {
        let keys = serde_json::json!({
            "refreshKey": base64::engine::general_purpose::STANDARD.encode([fill; 32]),
            "csrfKey": base64::engine::general_purpose::STANDARD.encode([fill; 32]),
            "cursorKey": base64::engine::general_purpose::STANDARD.encode([fill; 32]),
            "totpKey": base64::engine::general_purpose::STANDARD.encode([fill; 32]),
            "backupCodeKey": base64::engine::general_purpose::STANDARD.encode([fill; 32]),
        });
        <crate::secrets::AppKeys as crate::secrets::FromSecret>::parse("t", &keys.to_string())
            .map(|keys| keys.email_tokens)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn tokens_carry_256_random_bits_and_parse_back() -> Result<(), ApiError> {
        let a = LinkToken::generate()?;
        let b = LinkToken::generate()?;
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_ne!(a.expose(), b.expose());
        let parsed = LinkToken::parse(a.expose())?;
        assert_eq!(parsed.hash(&key(1)), a.hash(&key(1)));
        Ok(())
    }

    #[test]
    fn malformed_tokens_get_the_generic_answer() {
        let long = "a".repeat(44);
        let short = "a".repeat(42);
        let bad_char = format!("{}*", "a".repeat(42));
        for raw in [
            "",
            "not-a-token",
            short.as_str(),
            long.as_str(),
            bad_char.as_str(),
        ] {
            let error = LinkToken::parse(raw).err().map(|e| e.to_string());
            assert_eq!(
                error.as_deref(),
                Some("This link is invalid or has expired"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn the_stored_hash_depends_on_the_key_and_never_shows_the_token() -> Result<(), ApiError> {
        let token = LinkToken::generate()?;
        assert_ne!(token.hash(&key(1)), token.hash(&key(2)));
        assert_eq!(token.hash(&key(1)).len(), 32);
        assert!(!format!("{token:?}").contains(token.expose()));
        Ok(())
    }
}
