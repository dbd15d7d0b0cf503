//! Routes of the reports function (global and write rate-limit tiers on every route).
//! Who may do what is the permission matrix's Reports row: users create, moderators
//! read and update, admins also delete.
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `POST /api/reports` | Bearer (Report Create) | | [`handlers::create`] |
//! | `GET /api/reports` | Bearer (Report Read) | | [`handlers::list`] |
//! | `GET /api/reports/{id}` | Bearer (Report Read) | | [`handlers::get`] |
//! | `PATCH /api/reports/{id}` | Bearer (Report Update) | | [`handlers::update`] |
//! | `DELETE /api/reports/{id}` | Bearer (Report Delete) | | [`handlers::delete`] |
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
            "/api/reports",
            limited(get(handlers::list).post(handlers::create), s, &[]),
        )
        .route(
            "/api/reports/{id}",
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
