//! Every request gets a deadline: the Lambda's remaining time less a margin, and never
//! more than the request timeout. Retries and waits read it (`resilience::Deadline`);
//! a request still running when it passes answers 503 with Retry-After, so a client
//! gets an answer it can act on before API Gateway's own 30 s timeout.

use std::time::{Duration, SystemTime};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use lambda_http::RequestExt;

use crate::{error::ApiError, resilience::Deadline};

/// The two bounds, from `HttpConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub request_timeout: Duration,
    pub margin: Duration,
}

impl Budget {
    /// What this request may spend, given the invocation's deadline if there is one.
    /// A deadline already passed is not a real one (Lambda would have stopped the
    /// invocation): `cargo lambda watch` sends the timeout alone (600000, i.e. 1970).
    pub fn for_invocation(self, lambda_deadline: Option<SystemTime>) -> Duration {
        let lambda_left = lambda_deadline
            .and_then(|deadline| deadline.duration_since(SystemTime::now()).ok())
            .map(|left| left.saturating_sub(self.margin));
        match lambda_left {
            Some(left) => left.min(self.request_timeout),
            None => self.request_timeout,
        }
    }
}

/// Seconds a client should wait after a request ran out of time.
const RETRY_AFTER_SECONDS: u64 = 2;

pub async fn enforce(State(budget): State<Budget>, request: Request, next: Next) -> Response {
    let lambda_deadline = request
        .lambda_context_ref()
        .map(|context| context.deadline());
    let deadline = Deadline::after(budget.for_invocation(lambda_deadline));
    let run = deadline.scope(next.run(request));
    match tokio::time::timeout_at(deadline.instant(), run).await {
        Ok(response) => response,
        Err(_) => {
            // The handler is dropped here: an open transaction rolls back with it.
            tracing::error!("request deadline passed; answering 503");
            crate::metrics::count("RequestDeadlineExceeded", &[]);
            ApiError::ServiceUnavailable {
                message: "The request could not be completed in time".into(),
                retry_after_seconds: RETRY_AFTER_SECONDS,
                details: None,
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget {
        request_timeout: Duration::from_secs(10),
        margin: Duration::from_millis(500),
    };

    #[test]
    fn the_request_timeout_caps_a_long_invocation() {
        let far = SystemTime::now() + Duration::from_secs(900);
        assert_eq!(BUDGET.for_invocation(Some(far)), BUDGET.request_timeout);
        assert_eq!(BUDGET.for_invocation(None), BUDGET.request_timeout);
    }

    #[test]
    fn a_short_invocation_keeps_its_margin() {
        let near = SystemTime::now() + Duration::from_secs(3);
        let budget = BUDGET.for_invocation(Some(near));
        assert!(budget <= Duration::from_millis(2_500));
        assert!(budget > Duration::from_secs(2));
    }

    #[test]
    fn a_deadline_in_the_past_is_not_a_deadline() {
        let emulator = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(
            BUDGET.for_invocation(Some(emulator)),
            BUDGET.request_timeout
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_deadline_answers_503_with_retry_after() {
        use axum::{Router, body::Body, routing::get};
        use tower::ServiceExt;

        let slow = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(BUDGET, enforce));
        let request = http::Request::get("/slow").body(Body::empty());
        let response = match request {
            Ok(request) => slow.oneshot(request).await,
            Err(error) => panic!("{error}"),
        };
        let response = response.unwrap_or_else(|never| match never {});
        assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(http::header::RETRY_AFTER),
            Some(&http::HeaderValue::from_static("2"))
        );
    }
}
