//! The health function: `GET /api/health` (routes in `routes.rs`, checks in `checks.rs`).

mod checks;
pub mod routes;

pub use routes::router;
