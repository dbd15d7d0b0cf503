//! The admin function: security events and stats, blocked IPs, database stats,
//! partition maintenance, system settings, the configuration in force, migrations.

use reqwest::Response;
use serde_json::{Value, json};

use crate::TestApp;

impl TestApp {
    /// `GET /api/admin/security/blocked-ips`.
    pub async fn blocked_ips(&self, token: &str) -> Response {
        self.bearer_get("/api/admin/security/blocked-ips", token)
            .await
    }

    /// `GET /api/admin/database/stats`.
    pub async fn database_stats(&self, token: &str) -> Response {
        self.bearer_get("/api/admin/database/stats", token).await
    }

    /// `POST /api/admin/partitions/run`.
    pub async fn run_partitions(&self, token: &str) -> Response {
        self.bearer_post("/api/admin/partitions/run", token, json!({}))
            .await
    }

    /// `GET /api/admin/partitions`: the maintenance runs.
    pub async fn partition_runs(&self, token: &str) -> Response {
        self.bearer_get("/api/admin/partitions", token).await
    }

    /// `PUT /api/admin/settings/{key}`.
    pub async fn put_setting(&self, key: &str, token: &str, body: Value) -> Response {
        self.bearer_put(&format!("/api/admin/settings/{key}"), token, body)
            .await
    }

    /// `DELETE /api/admin/settings/{key}`.
    pub async fn delete_setting(&self, key: &str, token: &str) -> Response {
        self.bearer_delete(&format!("/api/admin/settings/{key}"), token)
            .await
    }

    /// `GET /api/admin/system/config`: every setting in force with its source.
    pub async fn system_config(&self, token: &str) -> Response {
        self.bearer_get("/api/admin/system/config", token).await
    }

    /// `GET /api/admin/migrations`: applied and pending migrations.
    pub async fn migrations(&self, token: &str) -> Response {
        self.bearer_get("/api/admin/migrations", token).await
    }
}
