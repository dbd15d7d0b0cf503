//! The library every Blue Harvest function links.
//!
//! - `config`: environment, parsed once at start
//! - `state`: what a Lambda instance builds once and shares (clients, pools, secrets)
//! - `db`: writer and reader pools with read fallback; `migrations` embeds the schema
//! - `secrets`: Secrets Manager with a TTL cache and typed, validated key sets
//! - `auth`: passwords, access/refresh tokens, CSRF, the session cookies, the `Principal` extractor
//! - `cookies`: how every cookie is declared (prefix, Secure, HttpOnly, SameSite, path)
//! - `domain`: request fields parsed into types (username, email, password, role,
//!   sanitized content)
//! - `permissions`: the role × resource matrix every domain check goes through
//! - `store`: accounts and audit log (PostgreSQL), token families (DynamoDB)
//! - `mail`: mailed-link tokens, mail jobs and their transactional outbox (relayed to SQS)
//! - `ratelimit`: tiers in DynamoDB, applied per route with `ratelimit::limited`
//! - `resilience`: a circuit breaker per dependency, retries, the request deadline
//! - `metrics`: CloudWatch EMF metric lines
//! - `http`: the shared tower stack, request context, extractors, error envelope
//! - `error`: the API error type, mapped to status and code in one place

pub mod auth;
pub mod config;
pub mod cookies;
pub mod cursor;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod partitions;
pub mod permissions;
pub mod ratelimit;
pub mod resilience;
pub mod response;
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;

pub use error::ApiError;
pub use state::AppState;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
