//! Which AWS SDK errors mean "the dependency failed" (feeds the breakers) as opposed to
//! "it answered no" (a failed condition, a missing item), which is a healthy reply.

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
};

use crate::resilience::{CircuitBreaker, Guarded};

/// Error codes AWS services use when they shed load.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// Timeouts, connection and I/O failures, unreadable responses, 5xx and throttling.
/// The Secrets Manager SDK shares these types, so this serves both clients.
pub fn is_aws_fault<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service
                    .err()
                    .code()
                    .is_some_and(|code| THROTTLING.contains(&code))
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}

/// The service shed load (on DynamoDB: often one hot key, not the table).
pub fn is_throttling<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(error, SdkError::ServiceError(service)
        if service.err().code().is_some_and(|code| THROTTLING.contains(&code)))
}

/// `.send().through(&breaker)`: an AWS call made under a dependency's breaker.
pub trait ThroughBreaker<T, E: ProvideErrorMetadata>:
    Future<Output = Result<T, SdkError<E, HttpResponse>>> + Sized
{
    fn through(
        self,
        breaker: &CircuitBreaker,
    ) -> impl Future<Output = Result<T, Guarded<SdkError<E, HttpResponse>>>> {
        breaker.guard(self, is_aws_fault)
    }
}

impl<F, T, E> ThroughBreaker<T, E> for F
where
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata,
{
}

/// For calls that must not be repeated once the server may have applied them
/// (counters, conditional creates and rotations): one attempt, no SDK retry.
pub fn single_attempt() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default()
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
}

impl<E, R> Guarded<SdkError<E, R>> {
    /// The service's own answer (e.g. a failed condition), if the call was made and
    /// the service gave one.
    pub fn as_service_error(&self) -> Option<&E> {
        match self {
            Guarded::Failed(error) => error.as_service_error(),
            Guarded::Open(_) => None,
        }
    }
}
