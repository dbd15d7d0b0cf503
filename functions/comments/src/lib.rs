//! Routes of the comments function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/posts/{id}/comments` | none (a Bearer token is verified if sent) | | [`handlers::list`] |
//! | `POST /api/posts/{id}/comments` | Bearer | | [`handlers::create`] |
//! | `PATCH /api/comments/{id}` | Bearer (own, or moderator/admin) | | [`handlers::update`] |
//! | `DELETE /api/comments/{id}` | Bearer (own, or moderator/admin) | | [`handlers::delete`] |
//!
//! Queries are in [`store`]; request bodies become domain types in [`request`];
//! what is answered, and its schema, is in [`response`].

pub mod handlers;
pub mod request;
pub mod response;
pub mod store;

use std::sync::Arc;

use axum::{Router, routing::get};
use shared::{AppState, ratelimit::limited};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/posts/{id}/comments",
            limited(get(handlers::list).post(handlers::create), s, &[]),
        )
        .route(
            "/api/comments/{id}",
            limited(
                axum::routing::patch(handlers::update).delete(handlers::delete),
                s,
                &[],
            ),
        )
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(handlers::list, handlers::create, handlers::update, handlers::delete))]
pub struct ApiDoc;
