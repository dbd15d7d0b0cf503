//! What keeps a function answering while its dependencies fail: a circuit breaker per
//! dependency, retries with backoff for transient faults, and the request deadline
//! every wait is bounded by.

pub mod breaker;
pub mod config;
pub mod deadline;
pub mod faults;
pub mod retry;

use std::sync::Arc;

pub use breaker::{BreakerState, CircuitBreaker, Guarded};
pub use deadline::Deadline;
pub use retry::retry;

use config::ResilienceConfig;

/// One breaker per dependency, shared by everything in the instance that calls it.
#[derive(Debug, Clone)]
pub struct Breakers {
    pub writer: Arc<CircuitBreaker>,
    pub reader: Arc<CircuitBreaker>,
    pub dynamodb: Arc<CircuitBreaker>,
    pub secrets: Arc<CircuitBreaker>,
}

impl Breakers {
    pub fn new(config: &ResilienceConfig) -> Self {
        let breaker = |name| Arc::new(CircuitBreaker::configured(name, config));
        Self {
            writer: breaker("writer"),
            reader: breaker("reader"),
            dynamodb: breaker("dynamodb"),
            secrets: breaker("secrets"),
        }
    }

    /// Each dependency's breaker state, in a fixed order (health shows them).
    pub fn states(&self) -> [(&'static str, BreakerState); 4] {
        [&self.writer, &self.reader, &self.dynamodb, &self.secrets]
            .map(|breaker| (breaker.name(), breaker.state()))
    }
}
