//! The library every Blue Harvest function links.
//!
//! - `config`: environment, parsed once at start
//! - `state`: what a Lambda instance builds once and shares (clients, pools, secrets)
//! - `db`: writer and reader pools with read fallback; `migrations` embeds the schema
//! - `secrets`: Secrets Manager with a TTL cache and typed, validated key sets
//! - `http`: the shared tower stack, request context, extractors, error envelope
//! - `error`: the API error type, mapped to status and code in one place

pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod secrets;
pub mod state;
pub mod telemetry;

pub use error::ApiError;
pub use state::AppState;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
