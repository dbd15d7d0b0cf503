//! Renders every error response as the JSON envelope, in one place.

use axum::{body::Body, extract::Request, middleware::Next, response::Response};
use http::{HeaderValue, header};
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::context::RequestContext;
use crate::error::{ErrorCode, ErrorReport};

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
    let mut error = json!({
        "message": report.message,
        "code": report.code.as_str(),
        "statusCode": status.as_u16(),
        "timestamp": OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        "path": path,
        "requestId": request_id,
    });
    if let Some(details) = report.details {
        error["details"] = details;
    }
    let body = serde_json::to_vec(&json!({ "error": error })).unwrap_or_default();

    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
