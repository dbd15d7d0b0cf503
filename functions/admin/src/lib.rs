//! Routes of the admin function (global and write rate-limit tiers on every route).
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `GET /api/admin/security/events` | admin | | [`security::events`] |
//! | `GET /api/admin/security/stats` | admin | | [`security::stats`] |
//! | `GET /api/admin/security/blocked-ips` | admin | | [`security::blocked_ips`] |
//! | `DELETE /api/admin/security/blocked-ips/{ip}` | admin + step-up | sensitive | [`security::unblock_ip`] |
//! | `GET /api/admin/database/stats` | admin | | [`database::stats`] |
//! | `GET /api/admin/partitions` | admin | | [`partitions::runs`] |
//! | `POST /api/admin/partitions/run` | admin + step-up | sensitive | [`partitions::run`] |
//! | `GET /api/admin/settings` | Settings read (admin) | | [`settings::list`] |
//! | `GET /api/admin/settings/{key}` | Settings read (admin) | | [`settings::get`] |
//! | `PUT /api/admin/settings/{key}` | admin + step-up, Settings create/update | sensitive | [`settings::put`] |
//! | `DELETE /api/admin/settings/{key}` | admin + step-up, Settings delete | sensitive | [`settings::delete`] |
//! | `GET /api/admin/system/config` | admin | | [`system::config`] |
//! | `GET /api/admin/migrations` | admin | | [`system::migrations`] |

pub mod database;
pub mod partitions;
pub mod response;
pub mod security;
pub mod settings;
pub mod system;

use std::sync::Arc;

use axum::{
    Router,
    routing::{delete, get, post, put},
};
use shared::{
    AppState,
    ratelimit::{Tier, limited},
};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/admin/security/events",
            limited(get(security::events), s, &[]),
        )
        .route(
            "/api/admin/security/stats",
            limited(get(security::stats), s, &[]),
        )
        .route(
            "/api/admin/security/blocked-ips",
            limited(get(security::blocked_ips), s, &[]),
        )
        .route(
            "/api/admin/security/blocked-ips/{ip}",
            limited(delete(security::unblock_ip), s, &[Tier::Sensitive]),
        )
        .route(
            "/api/admin/database/stats",
            limited(get(database::stats), s, &[]),
        )
        .route(
            "/api/admin/partitions",
            limited(get(partitions::runs), s, &[]),
        )
        .route(
            "/api/admin/partitions/run",
            limited(post(partitions::run), s, &[Tier::Sensitive]),
        )
        .route("/api/admin/settings", limited(get(settings::list), s, &[]))
        .route(
            "/api/admin/settings/{key}",
            limited(get(settings::get), s, &[]).merge(limited(
                put(settings::put).delete(settings::delete),
                s,
                &[Tier::Sensitive],
            )),
        )
        .route(
            "/api/admin/system/config",
            limited(get(system::config), s, &[]),
        )
        .route(
            "/api/admin/migrations",
            limited(get(system::migrations), s, &[]),
        )
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    security::events,
    security::stats,
    security::blocked_ips,
    security::unblock_ip,
    database::stats,
    partitions::runs,
    partitions::run,
    system::config,
    system::migrations,
    settings::list,
    settings::get,
    settings::put,
    settings::delete
))]
pub struct ApiDoc;
