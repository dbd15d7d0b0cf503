//! Routes of the health function.
//!
//! | route | answer | handler |
//! |---|---|---|
//! | `GET /api/health` | every dependency checked; 200 healthy/degraded, 503 unhealthy | [`handlers::health`] |
//! | `GET /api/health?type=live` | 200 without touching any dependency | |
//! | `GET /api/health?type=ready` | 200 when the writer answers, else 503 | |
//!
//! The checks are in [`checks`]; the answer, and its schema, in [`response`].

mod checks;
pub mod handlers;
pub mod response;

use std::sync::Arc;

use axum::{Router, routing::get};
use shared::{AppState, ratelimit::limited};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/health", limited(get(handlers::health), &state, &[]))
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(handlers::health))]
pub struct ApiDoc;
