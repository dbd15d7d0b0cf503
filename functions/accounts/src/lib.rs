//! Routes of the accounts function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/accounts?limit=&cursor=` | admin | | [`handlers::read::list`] |
//! | `POST /api/accounts` | admin (step-up to create an admin or moderator) | | [`handlers::create::create`] |
//! | `GET /api/accounts/{id}` | Bearer (others' accounts: public fields, unless admin) | | [`handlers::read::get`] |
//! | `PATCH /api/accounts/{id}` | Bearer (own, or admin) | | [`handlers::update::update`] |
//! | `DELETE /api/accounts/{id}` | Bearer (own, or admin + step-up) | | [`handlers::delete::delete`] |
//! | `PUT /api/accounts/{id}/role` | admin + step-up | sensitive | [`handlers::role::change`] |
//!
//! Every check goes through the permission matrix (`shared::permissions`); the admin
//! list and role changes also use the role extractors of `shared::auth::roles`.
//! Request bodies become domain types in [`request`]; the account row's queries are in
//! `shared::store::accounts`, the deletion cascade in [`store`]; the account objects
//! answered are `shared::response`'s, chosen between in [`response`].

pub mod handlers;
pub mod request;
pub mod response;
pub mod store;

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, put},
};
use shared::{
    AppState,
    ratelimit::{Tier, limited},
};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/accounts",
            limited(
                get(handlers::read::list).post(handlers::create::create),
                s,
                &[],
            ),
        )
        .route(
            "/api/accounts/{id}",
            limited(
                get(handlers::read::get)
                    .patch(handlers::update::update)
                    .delete(handlers::delete::delete),
                s,
                &[],
            ),
        )
        .route(
            "/api/accounts/{id}/role",
            limited(put(handlers::role::change), s, &[Tier::Sensitive]),
        )
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::read::list,
    handlers::create::create,
    handlers::read::get,
    handlers::update::update,
    handlers::delete::delete,
    handlers::role::change
))]
pub struct ApiDoc;
