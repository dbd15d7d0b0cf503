//! Rate limits in DynamoDB: fixed windows, one item per key and window, each decided
//! by one conditional `ADD` (exact under any concurrency, one round trip per tier).
//!
//! Why fixed windows rather than GCRA or a sliding window: both need the previous
//! state to compute the next one (GCRA's `max(tat, now)`, the previous window's
//! count), and a DynamoDB update expression can neither branch nor multiply, so each
//! would cost a read or a retry round trip. The trade-off is that a client can spend
//! up to twice the limit across a window boundary; the windows are short where that
//! matters (the auth tier's 15 minutes), and every tier stays exact.

pub mod config;
mod layer;
mod leases;
mod store;

pub use layer::limited;
pub use store::{Decision, Outcome, RateLimiter};

use crate::domain::Role;
use config::{RateLimitConfig, TierLimit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Every /api route, by client IP.
    Global,
    /// Login, signup, 2FA verify, password change, by client IP; successes are refunded.
    Auth,
    /// The auth tier keyed by client IP and login name (login only).
    AuthLogin,
    /// POST, PUT, PATCH, DELETE, by account (client IP when anonymous). Added by method.
    Write,
    /// Password, 2FA, role and settings changes, by account.
    Sensitive,
    /// Post creation, by account, with a limit per role.
    PostCreate,
    /// Routes that send mail (forgot password, verification resend), by account
    /// (client IP when anonymous). Every request counts, answered 2xx or not.
    Mail,
    /// The same routes by the address in the body's `email` field, existing or not, so
    /// no one address can be mailed over and over from many IPs.
    MailAddress,
}

impl Tier {
    /// The name clients see in headers and in 429 details.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Auth | Self::AuthLogin => "auth",
            Self::Write => "write",
            Self::Sensitive => "sensitive",
            Self::PostCreate => "post-create",
            Self::Mail | Self::MailAddress => "mail",
        }
    }

    /// Part of the DynamoDB key, so the two auth keys never share a counter.
    fn key_prefix(self) -> &'static str {
        match self {
            Self::AuthLogin => "auth-login",
            Self::MailAddress => "mail-address",
            other => other.name(),
        }
    }

    pub fn limit(self, config: &RateLimitConfig, role: Option<Role>) -> TierLimit {
        match self {
            Self::Global => config.global,
            Self::Auth | Self::AuthLogin => config.auth,
            Self::Write => config.write,
            Self::Sensitive => config.sensitive,
            Self::Mail => config.mail,
            Self::MailAddress => config.mail_address,
            Self::PostCreate => match role {
                Some(Role::Admin) => config.post_create_admin,
                Some(Role::Moderator) => config.post_create_moderator,
                _ => config.post_create_user,
            },
        }
    }

    /// The two auth counters (per IP, per IP and login name): a refusal by either is
    /// a brute-force offence.
    pub fn is_auth(self) -> bool {
        matches!(self, Self::Auth | Self::AuthLogin)
    }

    /// Successful requests give their unit back (the auth tier counts failures).
    pub fn refunds_success(self) -> bool {
        matches!(self, Self::Auth | Self::AuthLogin)
    }

    pub fn fails_closed(self, config: &RateLimitConfig) -> bool {
        config.fail_closed.iter().any(|name| name == self.name())
    }
}
