//! Routes of the profiles function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/profiles?accountId=&limit=&cursor=` | Bearer | | [`handlers::list`] |
//! | `POST /api/profiles` | Bearer | | [`handlers::create`] |
//! | `GET /api/profiles/{id}` | Bearer | | [`handlers::get`] |
//! | `PATCH /api/profiles/{id}` | Bearer (own, or moderator/admin) | | [`handlers::update`] |
//! | `DELETE /api/profiles/{id}` | Bearer (own, or moderator/admin) | | [`handlers::delete`] |
//!
//! Every check goes through the permission matrix (`shared::permissions`). Queries
//! are in [`store`]; request bodies become domain types in [`request`];
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
            "/api/profiles",
            limited(get(handlers::list).post(handlers::create), s, &[]),
        )
        .route(
            "/api/profiles/{id}",
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
