//! Renders every error response as the JSON envelope, in one place.

use axum::{body::Body, extract::Request, middleware::Next, response::Response};
use http::{HeaderValue, header};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::context::RequestContext;
use crate::error::{ErrorCode, ErrorReport};

/// Every error answer: 4xx and 5xx alike.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Error)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBody {
    /// Safe to show: never an internal error's text.
    pub message: String,
    /// VALIDATION_ERROR 400, AUTHENTICATION_ERROR 401, AUTHORIZATION_ERROR 403 (also
    /// STEP_UP_REQUIRED, REAUTHENTICATION_REQUIRED, CSRF_TOKEN_INVALID, IP_BLOCKED),
    /// NOT_FOUND 404, METHOD_NOT_ALLOWED 405, CONFLICT 409, PAYLOAD_TOO_LARGE 413,
    /// UNSUPPORTED_MEDIA_TYPE 415, RATE_LIMIT_EXCEEDED 429, INTERNAL_ERROR 500,
    /// SERVICE_UNAVAILABLE 503.
    #[schema(pattern = "^[A-Z][A-Z0-9_]*$")]
    pub code: &'static str,
    #[schema(minimum = 400, maximum = 599)]
    pub status_code: u16,
    /// Present when there is more to say, e.g. `{errors: [...]}` for a 400.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub details: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub path: String,
    pub request_id: String,
}

pub async fn render_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request
        .extensions()
        .get::<RequestContext>()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();

    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }

    // A handler's own report wins; a bare error from a layer or the router gets a
    // generic one. The original body is dropped so no internal text can leak.
    let (mut parts, _body) = response.into_parts();
    let report = parts.extensions.remove::<ErrorReport>().unwrap_or_else(|| {
        let (code, message) = ErrorCode::for_bare_status(status);
        ErrorReport::new(code, message, None)
    });
    // The one place an internal error is logged, with its whole cause chain.
    if let Some(chain) = report.cause_chain() {
        tracing::error!(error = %chain, "internal error");
    }
    let envelope = ErrorEnvelope {
        error: ErrorBody {
            message: report.message,
            code: report.code.as_str(),
            status_code: status.as_u16(),
            details: report.details,
            timestamp: OffsetDateTime::now_utc(),
            path,
            request_id,
        },
    };
    let body = serde_json::to_vec(&envelope).unwrap_or_default();

    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
