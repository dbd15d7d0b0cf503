//! Authentication: passwords, access and refresh tokens, CSRF, cookies, the
//! `Principal` extractor, and the `Caller` and role extractors (`caller`).

pub mod access;
pub mod caller;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod hmac_jwt;
pub mod identity;
pub mod keyring;
pub mod mfa;
pub mod passwords;
pub mod principal;
pub mod reauth;
pub mod refresh;
pub mod second_factor;
pub mod step_up;
pub mod totp;

pub use principal::Principal;

/// Seconds since the Unix epoch: the unit of every token and session timestamp.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch, for waits of a few seconds that whole seconds
/// would cut short at a second boundary.
pub fn unix_now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
