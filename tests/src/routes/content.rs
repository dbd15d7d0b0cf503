//! The content functions: profiles, posts, comments, reports.

use reqwest::Response;
use serde_json::{Value, json};

use crate::{TestApp, status_json};

impl TestApp {
    /// Creates a profile through `POST /api/profiles` and returns its id.
    pub async fn create_profile(&self, token: &str, name: &str) -> i64 {
        let (status, body) =
            status_json(self.new_profile(token, json!({"name": name})).await).await;
        assert_eq!(status, 201, "profile creation: {body}");
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no profile id: {body}"))
    }

    /// `POST /api/profiles` with any body.
    pub async fn new_profile(&self, token: &str, body: Value) -> Response {
        self.bearer_post("/api/profiles", token, body).await
    }

    /// `PATCH /api/profiles/{id}`.
    pub async fn patch_profile(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_patch(&format!("/api/profiles/{id}"), token, body)
            .await
    }

    /// `DELETE /api/profiles/{id}`.
    pub async fn delete_profile(&self, id: i64, token: &str) -> Response {
        self.bearer_delete(&format!("/api/profiles/{id}"), token)
            .await
    }

    /// Creates a text post by `profile_id` through `POST /api/posts` and returns its id.
    pub async fn create_post(&self, token: &str, profile_id: i64, title: &str) -> i64 {
        let body = json!({
            "content": {"title": title, "body": "<p>Some text for the post body.</p>"},
            "postTypeId": 1, "profileId": profile_id,
        });
        let (status, body) = status_json(self.new_post(token, body).await).await;
        assert_eq!(status, 201, "post creation: {body}");
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no post id: {body}"))
    }

    /// `POST /api/posts` with any body.
    pub async fn new_post(&self, token: &str, body: Value) -> Response {
        self.bearer_post("/api/posts", token, body).await
    }

    /// `GET /api/posts/{id}`, anonymously.
    pub async fn get_post(&self, id: i64) -> (u16, Value) {
        self.get_json(&format!("/api/posts/{id}")).await
    }

    /// `GET /api/posts/{id}` as the holder of `token`.
    pub async fn get_post_as(&self, id: i64, token: &str) -> (u16, Value) {
        self.bearer_get_json(&format!("/api/posts/{id}"), token)
            .await
    }

    /// `GET /api/posts?{query}`, anonymously.
    pub async fn list_posts(&self, query: &str) -> (u16, Value) {
        self.get_json(&format!("/api/posts?{query}")).await
    }

    /// `GET /api/posts?{query}` as the holder of `token`.
    pub async fn list_posts_as(&self, query: &str, token: &str) -> (u16, Value) {
        self.bearer_get_json(&format!("/api/posts?{query}"), token)
            .await
    }

    /// `PATCH /api/posts/{id}`.
    pub async fn patch_post(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_patch(&format!("/api/posts/{id}"), token, body)
            .await
    }

    /// `DELETE /api/posts/{id}`.
    pub async fn delete_post(&self, id: i64, token: &str) -> Response {
        self.bearer_delete(&format!("/api/posts/{id}"), token).await
    }

    /// `POST /api/posts/{post}/comments`.
    pub async fn new_comment(&self, post: i64, token: &str, body: Value) -> Response {
        self.bearer_post(&format!("/api/posts/{post}/comments"), token, body)
            .await
    }

    /// `GET /api/posts/{post}/comments?{query}`, anonymously.
    pub async fn list_comments(&self, post: i64, query: &str) -> (u16, Value) {
        self.get_json(&format!("/api/posts/{post}/comments?{query}"))
            .await
    }

    /// `GET /api/posts/{post}/comments?{query}` as the holder of `token`.
    pub async fn list_comments_as(&self, post: i64, query: &str, token: &str) -> (u16, Value) {
        self.bearer_get_json(&format!("/api/posts/{post}/comments?{query}"), token)
            .await
    }

    /// `PATCH /api/comments/{id}`.
    pub async fn patch_comment(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_patch(&format!("/api/comments/{id}"), token, body)
            .await
    }

    /// `DELETE /api/comments/{id}`.
    pub async fn delete_comment(&self, id: i64, token: &str) -> Response {
        self.bearer_delete(&format!("/api/comments/{id}"), token)
            .await
    }

    /// `POST /api/reports`.
    pub async fn new_report(&self, token: &str, body: Value) -> Response {
        self.bearer_post("/api/reports", token, body).await
    }

    /// `PATCH /api/reports/{id}`.
    pub async fn patch_report(&self, id: i64, token: &str, body: Value) -> Response {
        self.bearer_patch(&format!("/api/reports/{id}"), token, body)
            .await
    }

    /// `DELETE /api/reports/{id}`.
    pub async fn delete_report(&self, id: i64, token: &str) -> Response {
        self.bearer_delete(&format!("/api/reports/{id}"), token)
            .await
    }
}
