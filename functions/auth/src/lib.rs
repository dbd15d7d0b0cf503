//! Routes of the auth function.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `POST /api/auth/signup` | none | [`signup::signup`] |
//! | `POST /api/auth/login` | none | [`login::login`] |
//! | `POST /api/auth/refresh` | `bh_refresh` cookie + CSRF | [`refresh::refresh`] |
//! | `POST /api/auth/logout` | `bh_refresh` cookie + CSRF | [`refresh::logout`] |
//! | `POST /api/auth/logout-all` | Bearer | [`sessions::logout_all`] |
//! | `GET /api/auth/sessions` | Bearer | [`sessions::list`] |
//! | `DELETE /api/auth/sessions/{id}` | Bearer | [`sessions::revoke`] |
//! | `GET /api/auth/me` | Bearer | [`account::me`] |
//! | `POST /api/auth/password` | Bearer | [`account::change_password`] |
//! | `GET /api/csrf-token` | none | [`csrf_token::issue`] |
//! | `GET /.well-known/jwks.json` | none | [`jwks::jwks`] |

pub mod account;
pub mod csrf_token;
pub mod jwks;
pub mod login;
pub mod refresh;
mod session;
pub mod sessions;
pub mod signup;

use std::sync::Arc;

use axum::{
    Router,
    routing::{delete, get, post},
};
use shared::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/auth/signup", post(signup::signup))
        .route("/api/auth/login", post(login::login))
        .route("/api/auth/refresh", post(refresh::refresh))
        .route("/api/auth/logout", post(refresh::logout))
        .route("/api/auth/logout-all", post(sessions::logout_all))
        .route("/api/auth/sessions", get(sessions::list))
        .route("/api/auth/sessions/{id}", delete(sessions::revoke))
        .route("/api/auth/me", get(account::me))
        .route("/api/auth/password", post(account::change_password))
        .route("/api/csrf-token", get(csrf_token::issue))
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .with_state(state)
}
