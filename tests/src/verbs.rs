//! The generic requests the suites build on: JSON, Bearer and cookie requests to any
//! path, each sent with [`Request::send`](crate::Request::send) (an emulator 500 is
//! sent again once). The named routes (`routes/`) are made of these.

use reqwest::{Method, Response};
use serde_json::Value;
use shared::auth::cookies;

use crate::TestApp;

impl TestApp {
    /// GET `path` without credentials: the status and the JSON body (Null when the body
    /// is not JSON).
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).send().await;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// GET `path` with a Bearer token: the status and the JSON body (Null when the body
    /// is not JSON). A client reading what it wrote reads it (read-your-writes).
    pub async fn bearer_get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.bearer_get(path, token).await;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.post(path).json(&body).send().await
    }

    pub async fn bearer_get(&self, path: &str, token: &str) -> Response {
        self.get(path).bearer_auth(token).send().await
    }

    pub async fn bearer_post(&self, path: &str, token: &str, body: Value) -> Response {
        self.post(path).bearer_auth(token).json(&body).send().await
    }

    /// Any method, with an optional Bearer token and JSON body (for the matrix tests).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await
    }

    pub async fn bearer_patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn bearer_put(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn bearer_delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// POST a cookie-authenticated route with the refresh cookie, the CSRF cookie and
    /// the CSRF header given separately, so tests can break any one of them.
    pub async fn cookie_post(
        &self,
        path: &str,
        refresh: &str,
        csrf_cookie: Option<&str>,
        csrf_header: Option<&str>,
    ) -> Response {
        let mut cookie = format!("{}={refresh}", cookies::REFRESH);
        if let Some(csrf) = csrf_cookie {
            cookie.push_str(&format!("; {}={csrf}", cookies::CSRF));
        }
        let mut request = self.post(path).header("cookie", cookie);
        if let Some(header) = csrf_header {
            request = request.header("x-csrf-token", header);
        }
        request.send().await
    }
}
