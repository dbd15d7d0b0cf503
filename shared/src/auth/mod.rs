//! Authentication: passwords, access and refresh tokens, CSRF, cookies, and the
//! `Principal` extractor.

pub mod access;
pub mod cookies;
pub mod csrf;
pub mod keyring;
pub mod mfa;
pub mod passwords;
pub mod principal;
pub mod refresh;
pub mod step_up;
pub mod totp;

pub use principal::Principal;

/// Seconds since the Unix epoch: the unit of every token and session timestamp.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
