//! Retries for transient faults only: exponential backoff with full jitter (AWS
//! Architecture Blog, "Exponential Backoff And Jitter"), bounded in attempts and by the
//! request's deadline. Callers decide what is transient and must only retry what is
//! safe to repeat (reads, or writes the server cannot have applied).

use std::time::Duration;

use super::config::RetryPolicy;
use crate::resilience::Deadline;

impl RetryPolicy {
    /// The wait before retry `retry` (0 for the first): uniform in `[0, ceiling]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_delay);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ceiling_ms))
    }
}

/// Runs `operation` until it succeeds, fails with a non-transient error, runs out of
/// attempts, or the next wait would pass the current deadline.
pub async fn retry<T, E, Fut>(
    policy: &RetryPolicy,
    what: &'static str,
    is_transient: impl Fn(&E) -> bool,
    mut operation: impl FnMut() -> Fut,
) -> Result<T, E>
where
    E: std::fmt::Display,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Deadline::current();
    let mut attempt = 1;
    loop {
        let error = match operation().await {
            Err(error) if is_transient(&error) => error,
            result => return result,
        };
        let wait = policy.delay(attempt - 1);
        if attempt >= policy.max_attempts || !deadline.allows(wait) {
            return Err(error);
        }
        tracing::warn!(
            operation = what,
            attempt,
            waitMs = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "transient failure; retrying"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    };

    #[test]
    fn delays_are_jittered_below_a_capped_exponential_ceiling() {
        for retry in 0..10 {
            let ceiling = Duration::from_millis((1u64 << retry).min(4));
            assert!((0..50).all(|_| POLICY.delay(retry) <= ceiling));
        }
        let distinct: std::collections::HashSet<_> = (0..50).map(|_| POLICY.delay(5)).collect();
        assert!(distinct.len() > 1, "full jitter varies the wait");
    }

    #[tokio::test]
    async fn transient_errors_are_retried_up_to_the_attempt_limit() {
        let calls = Cell::new(0);
        let result: Result<(), &str> = retry(
            &POLICY,
            "t",
            |_| true,
            || async {
                calls.set(calls.get() + 1);
                Err("reset")
            },
        )
        .await;
        assert_eq!(result, Err("reset"));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn permanent_errors_and_successes_are_not_retried() {
        let calls = Cell::new(0);
        let result: Result<(), &str> = retry(
            &POLICY,
            "t",
            |e| *e == "reset",
            || async {
                calls.set(calls.get() + 1);
                Err("syntax error")
            },
        )
        .await;
        assert_eq!(result, Err("syntax error"));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn no_retry_waits_past_the_deadline() {
        let slow = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(5),
        };
        let calls = Cell::new(0);
        let deadline = Deadline::after(Duration::from_millis(20));
        let started = std::time::Instant::now();
        let _ = deadline
            .scope(retry(
                &slow,
                "t",
                |_| true,
                || async {
                    calls.set(calls.get() + 1);
                    Err::<(), _>("reset")
                },
            ))
            .await;
        // Every wait is uniform in [0, 5 s]; any that would pass the deadline stops.
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(calls.get() >= 1);
    }
}
