//! The accounts function.

use reqwest::Response;
use serde_json::Value;

use crate::TestApp;

impl TestApp {
    /// `POST /api/accounts` (an admin creating an account).
    pub async fn new_account(&self, token: &str, body: Value) -> Response {
        self.bearer_post("/api/accounts", token, body).await
    }

    /// `PATCH /api/accounts/{id}`.
    pub async fn patch_account(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_patch(&format!("/api/accounts/{id}"), token, body)
            .await
    }

    /// `DELETE /api/accounts/{id}`.
    pub async fn delete_account(&self, id: i64, token: &str) -> Response {
        self.bearer_delete(&format!("/api/accounts/{id}"), token)
            .await
    }

    /// `DELETE /api/accounts/{id}` with a body (re-authentication).
    pub async fn delete_account_with(&self, id: i64, token: &str, body: Value) -> Response {
        self.http(reqwest::Method::DELETE, &format!("/api/accounts/{id}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
    }

    /// `PUT /api/accounts/{id}/role`.
    pub async fn put_role(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_put(&format!("/api/accounts/{id}/role"), token, body)
            .await
    }
}
