//! A mail job: what the mailer is asked to send, as the JSON body of an SQS message
//! (and of its `mail_outbox` row until then).
//!
//! A link's token travels sealed (AES-256-GCM under a key derived from the app keys,
//! bound to the job's id): the outbox row, the queue, the dead-letter queue and any
//! log of a message hold no usable link; only the mailer, which has the key, opens it
//! to write the mail. The job's id is the mailer's idempotency key: a job delivered
//! twice (SQS redelivery, a second relay of its outbox row) is mailed once.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::tokens::LinkToken;
use crate::{domain::Email, secrets::HmacKey};

/// The format of a job's body; a mailer refuses a version it does not know.
pub const VERSION: u8 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Job {
    pub version: u8,
    /// A UUID: the idempotency key.
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// How the mail addresses its reader.
    pub username: String,
    pub mail: Mail,
}

/// What to send; each kind has a text and an HTML template in the mailer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Mail {
    /// A link to set a new password.
    PasswordReset { token: Sealed, valid_minutes: u64 },
    /// A link that proves the account's address (after signup, or on request).
    EmailVerification { token: Sealed, valid_hours: u64 },
    /// To the new address of an email change: the link that makes it the account's.
    EmailChange { token: Sealed, valid_hours: u64 },
    /// To the old address of an email change: it was asked for (the new one masked).
    EmailChangeNotice { new_email: String },
    /// After the first verification.
    Welcome,
}

impl Mail {
    /// The kind's name (metrics and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PasswordReset { .. } => "password_reset",
            Self::EmailVerification { .. } => "email_verification",
            Self::EmailChange { .. } => "email_change",
            Self::EmailChangeNotice { .. } => "email_change_notice",
            Self::Welcome => "welcome",
        }
    }

    /// The sealed token of a link mail.
    pub fn token(&self) -> Option<&Sealed> {
        match self {
            Self::PasswordReset { token, .. }
            | Self::EmailVerification { token, .. }
            | Self::EmailChange { token, .. } => Some(token),
            Self::EmailChangeNotice { .. } | Self::Welcome => None,
        }
    }
}

/// A token sealed for one job: base64url of `nonce || ciphertext || tag`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Sealed(String);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("no randomness available")]
    Random,
    #[error("the sealed token does not open with this key for this job")]
    Open,
}

fn aead_key(key: &HmacKey) -> Result<LessSafeKey, SealError> {
    let bytes = key.expose().get(..32).ok_or(SealError::Open)?;
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Open)
}

impl Sealed {
    pub fn seal(key: &HmacKey, job_id: &str, token: &LinkToken) -> Result<Self, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut data = token.expose().as_bytes().to_vec();
        aead_key(key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(job_id.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Random)?;
        Ok(Self(
            URL_SAFE_NO_PAD.encode([nonce.as_slice(), &data].concat()),
        ))
    }

    /// The token, if this was sealed with `key` for `job_id`.
    pub fn open(&self, key: &HmacKey, job_id: &str) -> Result<SecretString, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| SealError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut data = data.to_vec();
        let plain = aead_key(key)?
            .open_in_place(nonce, Aad::from(job_id.as_bytes()), &mut data)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain.to_vec())
            .map(SecretString::from)
            .map_err(|_| SealError::Open)
    }
}

impl Job {
    /// A new job (fresh id) to `to`.
    pub fn new(to: &Email, username: &str, mail: Mail) -> Self {
        Self {
            version: VERSION,
            id: new_id(),
            to: to.as_str().to_owned(),
            username: username.to_owned(),
            mail,
        }
    }

    /// A link mail: `make` gets the token sealed for the new job's id.
    pub fn with_link(
        key: &HmacKey,
        to: &Email,
        username: &str,
        token: &LinkToken,
        make: impl FnOnce(Sealed) -> Mail,
    ) -> Result<Self, SealError> {
        let id = new_id();
        let sealed = Sealed::seal(key, &id, token)?;
        Ok(Self {
            version: VERSION,
            id,
            to: to.as_str().to_owned(),
            username: username.to_owned(),
            mail: make(sealed),
        })
    }

    pub fn body(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The recipient, masked for logs.
    pub fn to_masked(&self) -> String {
        Email::parse(&self.to).map_or_else(|_| "***".into(), |email| email.masked())
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl From<SealError> for crate::error::ApiError {
    fn from(error: SealError) -> Self {
        crate::error::ApiError::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::secrets::{AppKeys, FromSecret};

    fn keys(fill: u8) -> AppKeys {
        let k = base64::engine::general_purpose::STANDARD.encode([fill; 32]);
        let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
        AppKeys::parse("t", &raw.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn email() -> Email {
        Email::parse("ada@example.com").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sealed_token_opens_only_with_its_key_for_its_job() -> Result<(), Box<dyn std::error::Error>>
    {
        let token = LinkToken::generate()?;
        let job = Job::with_link(&keys(1).mail_seal, &email(), "ada", &token, |token| {
            Mail::PasswordReset {
                token,
                valid_minutes: 30,
            }
        })?;
        let sealed = job.mail.token().ok_or("no token")?;
        let opened = sealed.open(&keys(1).mail_seal, &job.id)?;
        assert_eq!(opened.expose_secret(), token.expose());
        assert_eq!(
            sealed.open(&keys(2).mail_seal, &job.id).err(),
            Some(SealError::Open)
        );
        assert_eq!(
            sealed.open(&keys(1).mail_seal, "another-job").err(),
            Some(SealError::Open)
        );
        assert!(
            !job.body().contains(token.expose()),
            "the body holds no token"
        );
        Ok(())
    }

    #[test]
    fn the_body_round_trips_and_names_its_kind() -> Result<(), serde_json::Error> {
        let job = Job::new(
            &email(),
            "ada",
            Mail::EmailChangeNotice {
                new_email: "n***@example.org".into(),
            },
        );
        let body: serde_json::Value = serde_json::from_str(&job.body())?;
        assert_eq!(body["mail"]["kind"], "email_change_notice");
        assert_eq!(body["mail"]["newEmail"], "n***@example.org");
        assert_eq!(body["version"], 1);
        let back: Job = serde_json::from_str(&job.body())?;
        assert_eq!(back, job);
        assert_eq!(job.to_masked(), "a***@example.com");
        Ok(())
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused() {
        let welcome = Job::new(&email(), "ada", Mail::Welcome).body();
        let unknown_kind = welcome.replace("\"welcome\"", "\"invoice\"");
        assert!(serde_json::from_str::<Job>(&unknown_kind).is_err());
        let extra = welcome.replace("\"version\"", "\"extra\":1,\"version\"");
        assert!(serde_json::from_str::<Job>(&extra).is_err());
    }
}
