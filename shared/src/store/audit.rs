//! The security audit log (audit_log, partitioned by month).
//!
//! An event that records a database change is inserted in the change's own writer
//! transaction ([`insert`]): if the event cannot be written, the change is rolled back
//! and the client gets a 503, so the log can never miss a role change, a deletion or a
//! settings write. Events with no database change to go with them (a failed login, a
//! rate-limit rejection, a token reuse found in DynamoDB, a permission denied) are
//! best effort ([`record`]): a failure never fails the request, but the whole event
//! goes to the log as an error line and the `AuditWriteFailed` metric, so it is never
//! lost silently. Details must never hold a password, token or hash.

use serde_json::Value;
use sqlx::PgConnection;

use crate::{db::Db, error::ApiError, http::context::RequestContext, metrics, resilience::Guarded};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// What happened; the `event_type` column and the admin API's `type` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Signup,
    LoginSuccess,
    FailedLoginAttempt,
    TokenRefreshed,
    TokenReuseDetected,
    Logout,
    LogoutAll,
    SessionRevoked,
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TwoFactorFailed,
    BackupCodeUsed,
    BruteForceDetected,
    RateLimitExceeded,
    PermissionDenied,
    IpUnblocked,
    AccountCreated,
    AccountUpdated,
    AccountDeleted,
    RoleChanged,
    /// A moderator or admin changed or deleted someone else's profile, post or comment.
    ContentModerated,
    ReportUpdated,
    ReportDeleted,
    SettingsChanged,
    PartitionMaintenanceRun,
    /// A password set through a mailed reset link; every session ended.
    PasswordReset,
    /// An address proven by a mailed verification link.
    EmailVerified,
    /// A new address asked for; it takes effect when the link mailed to it is used.
    EmailChangeRequested,
    /// The new address proven: it is the account's email from now on.
    EmailChanged,
    /// A sensitive change refused for want of the account's current secrets.
    ReauthenticationFailed,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "SIGNUP",
            Self::LoginSuccess => "LOGIN_SUCCESS",
            Self::FailedLoginAttempt => "FAILED_LOGIN_ATTEMPT",
            Self::TokenRefreshed => "TOKEN_REFRESHED",
            Self::TokenReuseDetected => "TOKEN_REUSE_DETECTED",
            Self::Logout => "LOGOUT",
            Self::LogoutAll => "LOGOUT_ALL",
            Self::SessionRevoked => "SESSION_REVOKED",
            Self::PasswordChanged => "PASSWORD_CHANGED",
            Self::TwoFactorEnabled => "2FA_ENABLED",
            Self::TwoFactorDisabled => "2FA_DISABLED",
            Self::TwoFactorFailed => "2FA_FAILED",
            Self::BackupCodeUsed => "BACKUP_CODE_USED",
            Self::BruteForceDetected => "BRUTE_FORCE_DETECTED",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::IpUnblocked => "IP_UNBLOCKED",
            Self::AccountCreated => "ACCOUNT_CREATED",
            Self::AccountUpdated => "ACCOUNT_UPDATED",
            Self::AccountDeleted => "ACCOUNT_DELETED",
            Self::RoleChanged => "ROLE_CHANGED",
            Self::ContentModerated => "CONTENT_MODERATED",
            Self::ReportUpdated => "REPORT_UPDATED",
            Self::ReportDeleted => "REPORT_DELETED",
            Self::SettingsChanged => "SETTINGS_CHANGED",
            Self::PartitionMaintenanceRun => "PARTITION_MAINTENANCE_RUN",
            Self::PasswordReset => "PASSWORD_RESET",
            Self::EmailVerified => "EMAIL_VERIFIED",
            Self::EmailChangeRequested => "EMAIL_CHANGE_REQUESTED",
            Self::EmailChanged => "EMAIL_CHANGED",
            Self::ReauthenticationFailed => "REAUTHENTICATION_FAILED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event_type: EventType,
    pub severity: Severity,
    pub account_id: Option<i64>,
    pub details: Value,
}

impl AuditEvent {
    pub fn new(event_type: EventType, severity: Severity, account_id: Option<i64>) -> Self {
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

/// The audit write failed, so the change it records must not stand.
#[derive(Debug, thiserror::Error)]
#[error("the audit event {event} could not be written")]
pub struct AuditError {
    event: &'static str,
    #[source]
    source: sqlx::Error,
}

impl From<AuditError> for ApiError {
    fn from(error: AuditError) -> Self {
        tracing::error!(error = %error, cause = %error.source, "change rolled back: its audit event failed");
        metrics::count("AuditWriteFailed", &[("Mode", "transactional")]);
        ApiError::ServiceUnavailable {
            message: "The change could not be recorded and was not made; try again".into(),
            retry_after_seconds: 5,
            details: None,
        }
    }
}

/// In the change's transaction: the change commits only with its event.
pub async fn insert(
    tx: &mut PgConnection,
    context: &RequestContext,
    event: AuditEvent,
) -> Result<(), AuditError> {
    write(tx, context, &event)
        .await
        .map_err(|source| AuditError {
            event: event.event_type.as_str(),
            source,
        })?;
    critical_line(&event);
    Ok(())
}

/// Best effort, for events no database change goes with: a failure is logged with the
/// whole event (an error line and `AuditWriteFailed`), never fails the request.
pub async fn record(db: &Db, context: &RequestContext, event: AuditEvent) {
    // Boxed: a cold path whose future (a writer session under breaker, retries and
    // credentials) would otherwise be inlined into every caller's.
    Box::pin(record_unboxed(db, context, event)).await;
}

async fn record_unboxed(db: &Db, context: &RequestContext, event: AuditEvent) {
    let result = async {
        let mut writer = db.writer().await?;
        write(&mut writer, context, &event)
            .await
            .map_err(Guarded::Failed)
    }
    .await;
    if let Err(error) = result {
        metrics::count("AuditWriteFailed", &[("Mode", "best_effort")]);
        tracing::error!(
            error = %error,
            event_type = event.event_type.as_str(),
            severity = event.severity.as_str(),
            account_id = event.account_id,
            details = %event.details,
            requestId = %context.request_id,
            "audit write failed; the event is kept in this line"
        );
    }
    critical_line(&event);
}

/// Critical events also get a log line of their own: the line template.yaml's
/// SecurityEvents metric filters match (`$.message` and `$.securityEvent`, one alarm
/// per event type to the alarm topic; scripts/check-alerts.py): keep its field names.
fn critical_line(event: &AuditEvent) {
    if event.severity == Severity::Critical {
        tracing::warn!(
            securityEvent = event.event_type.as_str(),
            severity = event.severity.as_str(),
            accountId = event.account_id,
            "critical security event"
        );
    }
}

async fn write(
    writer: &mut PgConnection,
    context: &RequestContext,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
"INSERT INTO audit_log (event_type, severity, account_id, ip, user_agent, request_id, details)
         VALUES ($1, $2, $3, $4::text::inet, $5, $6, $7)",
event.event_type.as_str(),
event.severity.as_str(),
event.account_id,
context.client_ip.map(|ip| ip.to_string()),
context.user_agent.as_deref(),
&context.request_id,
&event.details
)
    .execute(writer)
    .await?;
    Ok(())
}
