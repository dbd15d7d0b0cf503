//! The security audit log (audit_log, partitioned by month).
//!
//! A failed audit write is logged as an error and does not fail the request it
//! describes: losing a login to a full audit partition would be worse.
//! Details must never hold a password, token or hash.

use serde_json::Value;
use sqlx::PgConnection;

use crate::{db::Db, http::context::RequestContext, resilience::Guarded};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event_type: &'static str,
    pub severity: Severity,
    pub account_id: Option<i64>,
    pub details: Value,
}

impl AuditEvent {
    pub fn new(event_type: &'static str, severity: Severity, account_id: Option<i64>) -> Self {
        Self {
            event_type,
            severity,
            account_id,
            details: Value::Object(Default::default()),
        }
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Best effort: a failed audit write is logged, never fails the request it records.
pub async fn record(db: &Db, context: &RequestContext, event: AuditEvent) {
    let result = async {
        let mut writer = db.writer().await?;
        insert(&mut writer, context, &event)
            .await
            .map_err(Guarded::Failed)
    }
    .await;
    if let Err(error) = result {
        tracing::error!(error = %error, event_type = event.event_type, "audit write failed");
    }
    if event.severity == Severity::Critical {
        tracing::warn!(
            event_type = event.event_type,
            account_id = event.account_id,
            "critical security event"
        );
    }
}

async fn insert(
    writer: &mut PgConnection,
    context: &RequestContext,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (event_type, severity, account_id, ip, user_agent, request_id, details)
         VALUES ($1, $2, $3, $4::inet, $5, $6, $7)",
    )
    .bind(event.event_type)
    .bind(event.severity.as_str())
    .bind(event.account_id)
    .bind(context.client_ip.map(|ip| ip.to_string()))
    .bind(context.user_agent.as_deref())
    .bind(&context.request_id)
    .bind(&event.details)
    .execute(writer)
    .await?;
    Ok(())
}
