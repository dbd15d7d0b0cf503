//! A circuit breaker per dependency: after `failures` consecutive failures it opens and
//! calls are skipped (the caller applies its fallback at once instead of waiting for a
//! timeout); after `open_for` it lets trial calls through, and `successes` of them
//! close it again. Every transition is logged and counted (EMF `BreakerTransition`).

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::config::ResilienceConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
    successes: u32,
    opened_at: Instant,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    failures_to_open: u32,
    open_for: Duration,
    successes_to_close: u32,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(
        name: &'static str,
        failures_to_open: u32,
        open_for: Duration,
        successes_to_close: u32,
    ) -> Self {
        Self {
            name,
            failures_to_open,
            open_for,
            successes_to_close,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
                successes: 0,
                opened_at: Instant::now(),
            }),
        }
    }

    /// A breaker with the configured thresholds (the seed's 5 / 60 s / 2 by default).
    pub fn configured(name: &'static str, config: &ResilienceConfig) -> Self {
        Self::new(
            name,
            config.breaker_failures,
            config.breaker_open_for,
            config.breaker_successes,
        )
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs `call` unless the breaker is open, and records whether the dependency
    /// failed (`is_fault`) — an answer such as "condition failed" or "not found" is a
    /// success here: the dependency is up.
    pub async fn guard<T, E>(
        &self,
        call: impl Future<Output = Result<T, E>>,
        is_fault: impl Fn(&E) -> bool,
    ) -> Result<T, Guarded<E>> {
        if !self.allow() {
            return Err(Guarded::Open(self.name));
        }
        let result = call.await;
        self.record(!matches!(&result, Err(error) if is_fault(error)));
        result.map_err(Guarded::Failed)
    }

    /// An outcome seen outside a guarded call (a health probe): it counts as a call's
    /// would, so probes alone can open a breaker, or close it once the trial is due.
    pub fn observe(&self, success: bool) {
        if self.allow() {
            self.record(success);
        }
    }

    fn transition(&self, inner: &mut Inner, to: BreakerState) {
        tracing::warn!(
            breaker = self.name,
            from = inner.state.as_str(),
            to = to.as_str(),
            "circuit breaker transition"
        );
        crate::metrics::count(
            "BreakerTransition",
            &[
                ("Dependency", self.name),
                ("From", inner.state.as_str()),
                ("To", to.as_str()),
            ],
        );
        inner.state = to;
        inner.failures = 0;
        inner.successes = 0;
        if to == BreakerState::Open {
            inner.opened_at = Instant::now();
        }
    }

    /// Whether a call may be made now.
    pub fn allow(&self) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.state {
            BreakerState::Closed | BreakerState::HalfOpen => true,
            BreakerState::Open if inner.opened_at.elapsed() >= self.open_for => {
                self.transition(&mut inner, BreakerState::HalfOpen);
                true
            }
            BreakerState::Open => false,
        }
    }

    pub fn record(&self, success: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match (inner.state, success) {
            (BreakerState::Closed, true) => inner.failures = 0,
            (BreakerState::Closed, false) => {
                inner.failures += 1;
                if inner.failures >= self.failures_to_open {
                    self.transition(&mut inner, BreakerState::Open);
                }
            }
            (BreakerState::HalfOpen, true) => {
                inner.successes += 1;
                if inner.successes >= self.successes_to_close {
                    self.transition(&mut inner, BreakerState::Closed);
                }
            }
            (BreakerState::HalfOpen, false) => self.transition(&mut inner, BreakerState::Open),
            (BreakerState::Open, _) => {}
        }
    }

    pub fn state(&self) -> BreakerState {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .state
    }
}

/// A guarded call that did not succeed: skipped by an open breaker, or failed.
#[derive(Debug, thiserror::Error)]
pub enum Guarded<E> {
    #[error("{0} circuit breaker is open")]
    Open(&'static str),
    #[error(transparent)]
    Failed(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_only() {
        let breaker = CircuitBreaker::new("t", 3, Duration::from_secs(60), 2);
        breaker.record(false);
        breaker.record(false);
        breaker.record(true);
        breaker.record(false);
        breaker.record(false);
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
    }

    #[test]
    fn half_opens_after_the_interval_and_closes_after_successes() {
        let breaker = CircuitBreaker::new("t", 1, Duration::ZERO, 2);
        breaker.record(false);
        assert!(breaker.allow());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.record(true);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn guard_skips_calls_while_open_and_answers_count_as_success() {
        let breaker = CircuitBreaker::new("t", 2, Duration::from_secs(60), 1);
        let is_fault = |e: &&str| *e == "down";
        let answered: Result<(), _> = breaker.guard(async { Err("not found") }, is_fault).await;
        assert!(matches!(answered, Err(Guarded::Failed("not found"))));
        for _ in 0..2 {
            let _ = breaker
                .guard(async { Err::<(), _>("down") }, is_fault)
                .await;
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        let mut called = false;
        let skipped = breaker
            .guard(
                async {
                    called = true;
                    Ok::<_, &str>(())
                },
                is_fault,
            )
            .await;
        assert!(matches!(skipped, Err(Guarded::Open("t"))));
        assert!(!called, "an open breaker does not make the call");
    }

    #[test]
    fn a_failed_trial_reopens() {
        let breaker = CircuitBreaker::new("t", 1, Duration::ZERO, 2);
        breaker.record(false);
        assert!(breaker.allow());
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
    }
}
