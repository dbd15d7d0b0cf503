//! Routes of the admin function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/admin/security/blocked-ips` | admin | | [`security::blocked_ips`] |
//! | `DELETE /api/admin/security/blocked-ips/{ip}` | admin + step-up | sensitive | [`security::unblock_ip`] |

pub mod security;

use std::sync::Arc;

use axum::{
    Router,
    routing::{delete, get},
};
use shared::{
    AppState,
    ratelimit::{Tier, limited},
};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/admin/security/blocked-ips",
            limited(get(security::blocked_ips), s, &[]),
        )
        .route(
            "/api/admin/security/blocked-ips/{ip}",
            limited(delete(security::unblock_ip), s, &[Tier::Sensitive]),
        )
        .with_state(state)
}
