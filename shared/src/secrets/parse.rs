//! A secret's typed form and what can go wrong reading one: the pieces every typed
//! secret (app keys, the signing key set, database credentials) is built on.

use crate::error::ApiError;

/// HMAC keys shorter than this are refused (RFC 2104: at least the hash output size).
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// `unavailable`: Secrets Manager timed out, was unreachable or failed (worth a
    /// retry), as opposed to refusing (no such secret, access denied).
    #[error("cannot read secret {id}: {reason}")]
    Fetch {
        id: String,
        reason: String,
        unavailable: bool,
    },
    #[error("secret {id} is malformed: {reason}")]
    Malformed { id: String, reason: String },
    #[error("secret {id} field {field} is {bytes} bytes; at least {MIN_KEY_BYTES} are required")]
    WeakKey {
        id: String,
        field: &'static str,
        bytes: usize,
    },
}

/// Without its keys an instance cannot sign or verify: the caller should retry.
impl From<SecretsError> for ApiError {
    fn from(error: SecretsError) -> Self {
        tracing::error!(error = %error, "secrets unavailable");
        Self::ServiceUnavailable {
            message: "The service is temporarily unavailable".into(),
            retry_after_seconds: 5,
            details: None,
        }
    }
}

/// A secret's typed form, checked when it is fetched rather than when it is used.
pub trait FromSecret: Sized {
    fn parse(id: &str, raw: &str) -> Result<Self, SecretsError>;
}

impl SecretsError {
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            SecretsError::Fetch {
                unavailable: true,
                ..
            }
        )
    }
}

/// A secret that parsed but says something it must not (refused, by its id).
pub(crate) fn malformed(id: &str, reason: impl ToString) -> SecretsError {
    SecretsError::Malformed {
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}
