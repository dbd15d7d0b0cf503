//! Mail: one-time links mailed to an address, the jobs that carry them, and how a job
//! gets from the change that causes it to the mailer.
//!
//! - `tokens`: the links' tokens (256 random bits), stored only as keyed hashes, used once
//! - `job`: what the mailer is asked to send, with any token sealed (AES-256-GCM)
//! - `outbox`: jobs written in the transaction of their change (`mail_outbox`), sent to
//!   SQS by the request after its commit, and by the outbox-relay function for anything
//!   left behind
//! - `email_change`: the pending change of an account's address (the accounts function
//!   records it, the auth function's verify route completes it)

pub mod config;
pub mod email_change;
pub mod job;
pub mod outbox;
pub mod tokens;

pub use job::{Job, Mail};
pub use outbox::{MailQueue, Outbox};
pub use tokens::{LinkToken, Purpose};
