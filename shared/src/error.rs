//! The one API error type and its mapping to HTTP status and envelope code.
//!
//! Handlers return `ApiError`; its `IntoResponse` only records *what* went wrong in a
//! response extension. `http::envelope` renders the JSON envelope in one place, where
//! the request id and path are known, and also wraps bare errors produced by layers
//! (body limit, method routing) so every non-2xx response has the same shape.

use axum::{
    extract::rejection::{JsonRejection, QueryRejection},
    response::{IntoResponse, Response},
};
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use std::sync::Arc;

/// The `code` field of the error envelope; part of the public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Validation,
    Authentication,
    Authorization,
    CsrfTokenInvalid,
    IpBlocked,
    StepUpRequired,
    ReauthenticationRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimitExceeded,
    Internal,
    ServiceUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "VALIDATION_ERROR",
            Self::Authentication => "AUTHENTICATION_ERROR",
            Self::Authorization => "AUTHORIZATION_ERROR",
            Self::CsrfTokenInvalid => "CSRF_TOKEN_INVALID",
            Self::IpBlocked => "IP_BLOCKED",
            Self::StepUpRequired => "STEP_UP_REQUIRED",
            Self::ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::Internal => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }

    /// The code for an error response that no handler described (a layer's bare
    /// 413, the router's 404/405), with a message safe to show any client.
    pub fn for_bare_status(status: StatusCode) -> (Self, &'static str) {
        match status {
            StatusCode::BAD_REQUEST => (Self::Validation, "The request is invalid"),
            StatusCode::UNAUTHORIZED => (Self::Authentication, "Authentication required"),
            StatusCode::FORBIDDEN => (Self::Authorization, "Forbidden"),
            StatusCode::NOT_FOUND => (Self::NotFound, "No route matches this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                Self::MethodNotAllowed,
                "This route does not accept that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                (Self::PayloadTooLarge, "The request body is too large")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (Self::UnsupportedMediaType, "Unsupported content type")
            }
            StatusCode::TOO_MANY_REQUESTS => (Self::RateLimitExceeded, "Too many requests"),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => (
                Self::ServiceUnavailable,
                "The service is temporarily unavailable",
            ),
            s if s.is_client_error() => (Self::Validation, "The request could not be processed"),
            _ => (Self::Internal, "Internal server error"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation {
        message: String,
        details: Option<Value>,
    },
    /// 401. `invalid_token` adds `WWW-Authenticate: Bearer error="invalid_token"`.
    #[error("{message}")]
    Authentication {
        message: &'static str,
        invalid_token: bool,
    },
    #[error("{0}")]
    Authorization(&'static str),
    #[error("Missing or invalid CSRF token")]
    CsrfTokenInvalid,
    #[error("This operation needs a sign-in with a one-time password in the last minutes")]
    StepUpRequired,
    /// 403: a sensitive change without proof of the account's current secrets
    /// (`auth::reauth`). `required` names the body field, `reason` is `missing` or
    /// `incorrect`.
    #[error(
        "This change needs your current password, or a one-time code when two-factor auth is on"
    )]
    ReauthenticationRequired {
        required: &'static str,
        reason: &'static str,
    },
    #[error("Your IP has been temporarily blocked due to suspicious activity")]
    IpBlocked { retry_after_seconds: u64 },
    #[error("{message}")]
    Conflict {
        message: String,
        details: Option<Value>,
    },
    #[error("Too many requests")]
    RateLimited {
        tier: &'static str,
        retry_after_seconds: u64,
    },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("The request body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    ServiceUnavailable {
        message: String,
        retry_after_seconds: u64,
        details: Option<Value>,
    },
    /// A write transaction the database rolled back to resolve a conflict with
    /// another (serialization failure 40001, deadlock 40P01): nothing was written,
    /// and running it again may well succeed (`Db::write` does, before answering).
    #[error("the write conflicted with a concurrent one and was rolled back")]
    TransactionAborted(#[source] sqlx::Error),
    /// Keeps its cause, logged once with the whole chain where the envelope is
    /// rendered; the client only ever sees a generic message.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

/// Any error, kept whole (with its source chain) until it is logged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed statement whose named constraint is the client's doing becomes that
/// client error (an [`ApiError`], or a store's own error); any other failure maps as
/// every database error does. The constraint names are part of the schema's contract
/// (see the migrations).
pub trait OnConstraint<T> {
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        client_error: impl FnOnce(&str) -> Option<E>,
    ) -> Result<T, E>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        client_error: impl FnOnce(&str) -> Option<E>,
    ) -> Result<T, E> {
        self.map_err(|error| {
            error
                .as_database_error()
                .and_then(|db| db.constraint())
                .and_then(client_error)
                .unwrap_or_else(|| error.into())
        })
    }
}

impl ApiError {
    /// The one answer for every failed credential check, so failures do not tell
    /// an attacker which part was wrong.
    pub const INVALID_CREDENTIALS: Self = Self::Authentication {
        message: "Invalid credentials",
        invalid_token: false,
    };

    /// No credentials where a route needs them (an anonymous caller).
    pub const AUTHENTICATION_REQUIRED: Self = Self::Authentication {
        message: "Authentication required: send Authorization: Bearer <access token>",
        invalid_token: false,
    };

    pub const INVALID_TOKEN: Self = Self::Authentication {
        message: "Invalid or expired access token",
        invalid_token: true,
    };

    /// The `path` of each field error of a validation error (empty for any other).
    pub fn field_paths(&self) -> Vec<String> {
        let Self::Validation {
            details: Some(details),
            ..
        } = self
        else {
            return Vec::new();
        };
        details["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["path"].as_str().map(str::to_owned))
            .collect()
    }

    /// An error that is our fault, with its cause (an error, or a message).
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            details: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::BAD_REQUEST,
            Self::Authentication { .. } => StatusCode::UNAUTHORIZED,
            Self::Authorization(_)
            | Self::CsrfTokenInvalid
            | Self::StepUpRequired
            | Self::ReauthenticationRequired { .. }
            | Self::IpBlocked { .. } => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ServiceUnavailable { .. } | Self::TransactionAborted(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { .. } => ErrorCode::Validation,
            Self::Authentication { .. } => ErrorCode::Authentication,
            Self::Authorization(_) => ErrorCode::Authorization,
            Self::CsrfTokenInvalid => ErrorCode::CsrfTokenInvalid,
            Self::StepUpRequired => ErrorCode::StepUpRequired,
            Self::ReauthenticationRequired { .. } => ErrorCode::ReauthenticationRequired,
            Self::IpBlocked { .. } => ErrorCode::IpBlocked,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimitExceeded,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::ServiceUnavailable { .. } | Self::TransactionAborted(_) => {
                ErrorCode::ServiceUnavailable
            }
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn report(self) -> ErrorReport {
        let code = self.code();
        match self {
            Self::Internal(cause) => ErrorReport {
                cause: Some(Arc::from(cause)),
                ..ErrorReport::new(code, "Internal server error", None)
            },
            Self::Validation { message, details } => ErrorReport::new(code, message, details),
            Self::ServiceUnavailable {
                message, details, ..
            }
            | Self::Conflict { message, details } => ErrorReport::new(code, message, details),
            Self::RateLimited {
                tier,
                retry_after_seconds,
            } => ErrorReport::new(
                code,
                format!("Too many requests; retry after {retry_after_seconds} s"),
                Some(serde_json::json!({ "tier": tier, "retryAfter": retry_after_seconds })),
            ),
            Self::ReauthenticationRequired { required, reason } => ErrorReport::new(
                code,
                if reason == "incorrect" {
                    format!("{required} is incorrect")
                } else {
                    format!("This change needs {required} (or a step-up session)")
                },
                Some(serde_json::json!({ "required": required, "reason": reason })),
            ),
            other => {
                let message = other.to_string();
                ErrorReport::new(code, message, None)
            }
        }
    }
}

/// What a handler said about its failure; rendered into the envelope by
/// `http::envelope::render_errors`, which also logs an internal error's cause.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// An internal error's cause: logged, never sent.
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ErrorReport {
    pub fn new(code: ErrorCode, message: impl Into<String>, details: Option<Value>) -> Self {
        Self {
            code,
            message: message.into(),
            details,
            cause: None,
        }
    }

    /// The cause and every source under it, outermost first: "a: b: c".
    pub fn cause_chain(&self) -> Option<String> {
        let cause = self.cause.as_deref()?;
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(error) = source {
            chain.push_str(": ");
            chain.push_str(&error.to_string());
            source = error.source();
        }
        Some(chain)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = status.into_response();
        match &self {
            Self::TransactionAborted(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1_u64));
            }
            Self::ServiceUnavailable {
                retry_after_seconds,
                ..
            }
            | Self::RateLimited {
                retry_after_seconds,
                ..
            }
            | Self::IpBlocked {
                retry_after_seconds,
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            Self::Authentication {
                invalid_token: true,
                ..
            } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            _ => {}
        }
        response.extensions_mut().insert(self.report());
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(e) => Self::validation(format!(
                "Malformed JSON: {}",
                e.body_text()
                    .trim_start_matches("Failed to parse the request body as JSON: ")
            )),
            JsonRejection::JsonDataError(e) => {
                // axum says "<prefix>: <path>: <serde message>"; the path may be absent.
                let text = e.body_text();
                let reason = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest);
                let (path, message) = match reason.split_once(": ") {
                    Some((path, message)) if !path.contains(' ') => (path, message),
                    _ => ("", reason),
                };
                Self::Validation {
                    message: "The JSON body does not match the expected shape".into(),
                    details: Some(serde_json::json!({
                        "errors": [{ "path": path, "message": message }]
                    })),
                }
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            other => Self::validation(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Validation {
            message: "Invalid query string".into(),
            details: Some(serde_json::json!({ "reason": rejection.body_text() })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = ApiError::internal("password=secret connection refused").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let report = response.extensions().get::<ErrorReport>().cloned();
        let message = report.map(|r| r.message).unwrap_or_default();
        assert_eq!(message, "Internal server error");
    }

    #[test]
    fn an_internal_error_keeps_its_whole_cause_for_the_log() {
        #[derive(Debug, thiserror::Error)]
        #[error("could not seal the secret")]
        struct Outer(#[source] std::io::Error);
        let cause = Outer(std::io::Error::other("no randomness"));
        let response = ApiError::internal(cause).into_response();
        let report = response.extensions().get::<ErrorReport>().cloned();
        let chain = report.as_ref().and_then(ErrorReport::cause_chain);
        assert_eq!(
            chain.as_deref(),
            Some("could not seal the secret: no randomness")
        );
        assert_eq!(
            report.map(|r| r.message),
            Some("Internal server error".to_owned())
        );
    }

    #[test]
    fn service_unavailable_carries_retry_after() {
        let response = ApiError::ServiceUnavailable {
            message: "writer down".into(),
            retry_after_seconds: 5,
            details: None,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(5u64))
        );
    }

    #[test]
    fn bare_statuses_map_to_contract_codes() {
        let cases = [
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            (StatusCode::IM_A_TEAPOT, "VALIDATION_ERROR"),
            (StatusCode::BAD_GATEWAY, "INTERNAL_ERROR"),
        ];
        for (status, code) in cases {
            assert_eq!(
                ErrorCode::for_bare_status(status).0.as_str(),
                code,
                "{status}"
            );
        }
    }
}
