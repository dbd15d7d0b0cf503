//! The health and auth functions: health, signup, login, refresh, logout, me,
//! sessions, 2FA, password reset and email verification.

use reqwest::Response;
use serde_json::{Value, json};

use crate::{Session, TestApp, User};

impl TestApp {
    /// `GET /api/health?{query}` (no query: the full check): status and JSON.
    pub async fn health(&self, query: &str) -> (u16, Value) {
        if query.is_empty() {
            self.get_json("/api/health").await
        } else {
            self.get_json(&format!("/api/health?{query}")).await
        }
    }

    /// `POST /api/auth/signup` of a new user; the session it starts.
    pub async fn signup(&self, user: &User) -> Session {
        let body =
            json!({"username": user.username, "email": user.email, "password": user.password});
        Session::from_response(self.signup_with(body).await).await
    }

    /// `POST /api/auth/signup` with any body.
    pub async fn signup_with(&self, body: Value) -> Response {
        self.post_json("/api/auth/signup", body).await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.login_with(json!({"login": login, "password": password}))
            .await
    }

    /// `POST /api/auth/login` with any body.
    pub async fn login_with(&self, body: Value) -> Response {
        self.post_json("/api/auth/login", body).await
    }

    /// A well-formed `POST /api/auth/refresh` of `session`.
    pub async fn refresh(&self, session: &Session) -> Response {
        self.refresh_with(&session.refresh, Some(&session.csrf), Some(&session.csrf))
            .await
    }

    /// `POST /api/auth/refresh` with the refresh cookie, CSRF cookie and CSRF header
    /// given separately.
    pub async fn refresh_with(
        &self,
        refresh: &str,
        csrf_cookie: Option<&str>,
        csrf_header: Option<&str>,
    ) -> Response {
        self.cookie_post("/api/auth/refresh", refresh, csrf_cookie, csrf_header)
            .await
    }

    /// A well-formed `POST /api/auth/logout` of `session`.
    pub async fn logout(&self, session: &Session) -> Response {
        self.logout_with(&session.refresh, Some(&session.csrf), Some(&session.csrf))
            .await
    }

    /// `POST /api/auth/logout` with the cookies and header given separately.
    pub async fn logout_with(
        &self,
        refresh: &str,
        csrf_cookie: Option<&str>,
        csrf_header: Option<&str>,
    ) -> Response {
        self.cookie_post("/api/auth/logout", refresh, csrf_cookie, csrf_header)
            .await
    }

    /// `GET /api/auth/me`.
    pub async fn me(&self, token: &str) -> Response {
        self.bearer_get("/api/auth/me", token).await
    }

    /// `GET /api/auth/sessions`.
    pub async fn sessions(&self, token: &str) -> Response {
        self.bearer_get("/api/auth/sessions", token).await
    }

    /// `POST /api/auth/2fa/setup`.
    pub async fn two_factor_setup(&self, token: &str) -> Response {
        self.bearer_post("/api/auth/2fa/setup", token, json!({}))
            .await
    }

    /// `POST /api/auth/2fa/enable`, re-authenticated with the account's password.
    pub async fn two_factor_enable(&self, token: &str, code: &str, password: &str) -> Response {
        self.bearer_post(
            "/api/auth/2fa/enable",
            token,
            json!({"code": code, "currentPassword": password}),
        )
        .await
    }

    /// `POST /api/auth/2fa/disable`.
    pub async fn two_factor_disable(&self, token: &str, password: &str, code: &str) -> Response {
        self.bearer_post(
            "/api/auth/2fa/disable",
            token,
            json!({"password": password, "code": code}),
        )
        .await
    }

    /// `POST /api/auth/2fa/verify`: the second step of a login with 2FA.
    pub async fn verify_mfa(&self, mfa_token: &str, code: &str) -> Response {
        self.post_json(
            "/api/auth/2fa/verify",
            json!({"mfaToken": mfa_token, "code": code}),
        )
        .await
    }

    /// `POST /api/auth/password/forgot` for `email`.
    pub async fn forgot_password(&self, email: &str) -> Response {
        self.forgot_password_with(json!({ "email": email })).await
    }

    /// `POST /api/auth/password/forgot` with any body.
    pub async fn forgot_password_with(&self, body: Value) -> Response {
        self.post_json("/api/auth/password/forgot", body).await
    }

    /// `POST /api/auth/password/reset` with a mailed link's token.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Response {
        self.reset_password_with(json!({ "token": token, "newPassword": new_password }))
            .await
    }

    /// `POST /api/auth/password/reset` with any body.
    pub async fn reset_password_with(&self, body: Value) -> Response {
        self.post_json("/api/auth/password/reset", body).await
    }

    /// `POST /api/auth/email/verify` with a mailed link's token.
    pub async fn verify_email(&self, token: &str) -> Response {
        self.verify_email_with(json!({ "token": token })).await
    }

    /// `POST /api/auth/email/verify` with any body.
    pub async fn verify_email_with(&self, body: Value) -> Response {
        self.post_json("/api/auth/email/verify", body).await
    }

    /// `POST /api/auth/email/verify/resend`.
    pub async fn resend_verification(&self, token: &str) -> Response {
        self.bearer_post("/api/auth/email/verify/resend", token, json!({}))
            .await
    }
}
