//! Routes of the auth function.
//!
//! Every route has the global rate-limit tier, and the write tier when its method
//! writes; the extra tiers are on the line declaring the route.
//!
//! | route | auth | extra limits | handler |
//! |---|---|---|---|
//! | `POST /api/auth/signup` | none | auth | [`signup::signup`] |
//! | `POST /api/auth/login` | none | auth (IP, and IP + login) | [`login::login`] |
//! | `POST /api/auth/refresh` | `__Secure-bh_refresh` cookie + CSRF | | [`refresh::refresh`] |
//! | `POST /api/auth/logout` | `__Secure-bh_refresh` cookie + CSRF | | [`refresh::logout`] |
//! | `POST /api/auth/logout-all` | Bearer | | [`sessions::logout_all`] |
//! | `GET /api/auth/sessions` | Bearer | | [`sessions::list`] |
//! | `DELETE /api/auth/sessions/{id}` | Bearer | | [`sessions::revoke`] |
//! | `GET /api/auth/me` | Bearer | | [`account::me`] |
//! | `POST /api/auth/password` | Bearer | auth, sensitive | [`account::change_password`] |
//! | `POST /api/auth/2fa/setup` | Bearer | sensitive | [`two_factor::setup`] |
//! | `POST /api/auth/2fa/enable` | Bearer | sensitive | [`two_factor::enable`] |
//! | `POST /api/auth/2fa/disable` | Bearer + step-up | sensitive | [`two_factor::disable`] |
//! | `POST /api/auth/2fa/verify` | MFA token | auth | [`two_factor::verify`] |
//! | `POST /api/auth/password/forgot` | none | mail (IP), mail (address) | [`recovery::forgot`] |
//! | `POST /api/auth/password/reset` | reset link token | auth | [`recovery::reset`] |
//! | `POST /api/auth/email/verify` | verification or email-change link token | auth | [`email::verify`] |
//! | `POST /api/auth/email/verify/resend` | Bearer | mail (account) | [`email::resend`] |
//! | `GET /api/csrf-token` | none (the `__Host-bh_csrf` cookie names the session) | | [`csrf_token::issue`] |
//! | `GET /.well-known/jwks.json` | none | (not under /api: none) | [`jwks::jwks`] |

pub mod account;
pub mod csrf_token;
pub mod email;
pub mod jwks;
pub mod login;
mod outcome;
pub mod recovery;
pub mod refresh;
pub mod response;
pub mod sessions;
pub mod signup;
mod tokens;
pub mod two_factor;

use std::sync::Arc;

use axum::{
    Router,
    routing::{delete, get, post},
};
use shared::{
    AppState,
    ratelimit::{Tier, limited},
};

pub fn router(state: Arc<AppState>) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/auth/signup",
            limited(post(signup::signup), s, &[Tier::Auth]),
        )
        .route(
            "/api/auth/login",
            limited(post(login::login), s, &[Tier::Auth, Tier::AuthLogin]),
        )
        .route("/api/auth/refresh", limited(post(refresh::refresh), s, &[]))
        .route("/api/auth/logout", limited(post(refresh::logout), s, &[]))
        .route(
            "/api/auth/logout-all",
            limited(post(sessions::logout_all), s, &[]),
        )
        .route("/api/auth/sessions", limited(get(sessions::list), s, &[]))
        .route(
            "/api/auth/sessions/{id}",
            limited(delete(sessions::revoke), s, &[]),
        )
        .route("/api/auth/me", limited(get(account::me), s, &[]))
        .route(
            "/api/auth/password",
            limited(
                post(account::change_password),
                s,
                &[Tier::Auth, Tier::Sensitive],
            ),
        )
        .route(
            "/api/auth/2fa/setup",
            limited(post(two_factor::setup), s, &[Tier::Sensitive]),
        )
        .route(
            "/api/auth/2fa/enable",
            limited(post(two_factor::enable), s, &[Tier::Sensitive]),
        )
        .route(
            "/api/auth/2fa/disable",
            limited(post(two_factor::disable), s, &[Tier::Sensitive]),
        )
        .route(
            "/api/auth/2fa/verify",
            limited(post(two_factor::verify), s, &[Tier::Auth]),
        )
        .route(
            "/api/auth/password/forgot",
            limited(post(recovery::forgot), s, &[Tier::Mail, Tier::MailAddress]),
        )
        .route(
            "/api/auth/password/reset",
            limited(post(recovery::reset), s, &[Tier::Auth]),
        )
        .route(
            "/api/auth/email/verify",
            limited(post(email::verify), s, &[Tier::Auth]),
        )
        .route(
            "/api/auth/email/verify/resend",
            limited(post(email::resend), s, &[Tier::Mail]),
        )
        .route("/api/csrf-token", limited(get(csrf_token::issue), s, &[]))
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .with_state(state)
}

/// This function's operations in openapi.yaml, from `#[utoipa::path]` on its handlers
/// (tests/src/bin/openapi.rs writes the document; make test checks it is current).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    signup::signup,
    login::login,
    refresh::refresh,
    refresh::logout,
    sessions::logout_all,
    sessions::list,
    sessions::revoke,
    account::me,
    account::change_password,
    recovery::forgot,
    recovery::reset,
    email::verify,
    email::resend,
    two_factor::setup,
    two_factor::enable,
    two_factor::disable,
    two_factor::verify,
    csrf_token::issue,
    jwks::jwks
))]
pub struct ApiDoc;
