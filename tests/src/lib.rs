//! Helpers of the integration and end-to-end tests (`tests/tests/api/`, one test
//! binary). They run against the local stack that `make test` starts; its environment
//! (`.stack/test/env`) says where it is.
//!
//! Every request goes through [`TestApp`] ([`app()`]): one pooled HTTP client for the
//! whole run, the API's address, and a method per route (`routes/`). Beside it: who the
//! tests act as ([`User`], [`Session`], [`Admin`]), 2FA codes, reading answers, and the
//! stack itself (its servers, databases and the replica's progress).

pub mod mail;
mod responses;
mod routes;
mod stack;
mod test_app;
pub mod traffic;
mod two_factor;
mod users;
mod verbs;

pub use responses::{
    error_paths, health_report, set_cookie, set_cookie_line, status_json, token_claims,
};
pub use stack::{
    RestoreAws, aws_is_down, database, dynamodb_is_down, dynamodb_persists, eventually,
    moto_is_down, replica_caught_up, require_env, stack,
};
pub use test_app::{REQUEST_TIMEOUT, Request, TestApp, app, new_client, send};
pub use two_factor::{TwoFactor, totp_code};
pub use users::{Admin, PASSWORD_HEAD, PASSWORD_TAIL, Session, User, account_id, new_user};
