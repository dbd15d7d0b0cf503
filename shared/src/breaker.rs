//! A circuit breaker per dependency: after `failures` consecutive failures it opens and
//! calls are skipped (the caller applies its fallback at once instead of waiting for a
//! timeout); after `open_for` it lets trial calls through, and `successes` of them
//! close it again. Every transition is logged.

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

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

    fn transition(&self, inner: &mut Inner, to: BreakerState) {
        tracing::warn!(
            breaker = self.name,
            from = inner.state.as_str(),
            to = to.as_str(),
            "circuit breaker transition"
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

    #[test]
    fn a_failed_trial_reopens() {
        let breaker = CircuitBreaker::new("t", 1, Duration::ZERO, 2);
        breaker.record(false);
        assert!(breaker.allow());
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
    }
}
