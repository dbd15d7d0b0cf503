//! Routes of the posts function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/posts` | none | | [`handlers::list`] |
//! | `POST /api/posts` | Bearer | post creation by role | [`handlers::create`] |
//! | `GET /api/posts/{id}` | none | | [`handlers::get`] |
//! | `PATCH /api/posts/{id}` | Bearer (own, or moderator/admin) | | [`handlers::update`] |
//! | `DELETE /api/posts/{id}` | Bearer (own, or moderator/admin) | | [`handlers::delete`] |
//!
//! Queries are in [`store`]; request bodies become domain types in [`request`]; the
//! rows become the answers in [`response`].

pub mod handlers;
pub mod request;
pub mod response;
pub mod store;

use std::sync::Arc;

use axum::{Router, routing::get};
use shared::{
    AppState,
    ratelimit::{Tier, limited},
};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/posts",
            limited(get(handlers::list), s, &[]).merge(limited(
                axum::routing::post(handlers::create),
                s,
                &[Tier::PostCreate],
            )),
        )
        .route(
            "/api/posts/{id}",
            limited(
                get(handlers::get)
                    .patch(handlers::update)
                    .delete(handlers::delete),
                s,
                &[],
            ),
        )
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::list,
    handlers::create,
    handlers::get,
    handlers::update,
    handlers::delete
))]
pub struct ApiDoc;
