//! What `Logins`, `Refreshes` and `PasswordResetRequests` count by (`Outcome`, as the
//! dashboard's "by outcome" widgets show them): one named value per way a login, a
//! second factor, a refresh or a forgotten-password request ends.

use shared::metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Success,
    /// The password was right; the second factor is asked for.
    MfaRequired,
    InvalidCredentials,
    /// The per-name wait after repeated failures.
    Backoff,
    MfaSuccess,
    MfaFailed,
    MfaBackoff,
    /// A dependency failed.
    Error,
}

impl Login {
    fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::MfaRequired => "mfa_required",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Backoff => "backoff",
            Self::MfaSuccess => "mfa_success",
            Self::MfaFailed => "mfa_failed",
            Self::MfaBackoff => "mfa_backoff",
            Self::Error => "error",
        }
    }

    pub fn count(self) {
        metrics::count("Logins", &[("Outcome", self.name())]);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Rotated,
    /// The parent within the reuse interval gets the current child.
    Grace,
    /// The family is revoked.
    ReuseDetected,
    /// No, a bad or an expired token, a revoked family, a deleted account.
    Invalid,
    CsrfFailed,
    /// A dependency failed.
    Error,
}

impl Refresh {
    fn name(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Grace => "grace",
            Self::ReuseDetected => "reuse_detected",
            Self::Invalid => "invalid",
            Self::CsrfFailed => "csrf_failed",
            Self::Error => "error",
        }
    }

    pub fn count(self) {
        metrics::count("Refreshes", &[("Outcome", self.name())]);
    }
}

/// A forgotten-password request: the answer is the same 202 for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordReset {
    /// The address has an account: a link was issued.
    Sent,
    Unknown,
    /// The account was found but the link could not be issued.
    Error,
}

impl PasswordReset {
    fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Unknown => "unknown",
            Self::Error => "error",
        }
    }

    pub fn count(self) {
        metrics::count("PasswordResetRequests", &[("Outcome", self.name())]);
    }
}
