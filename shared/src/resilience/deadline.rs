//! The time a request has left. The HTTP layer sets it per request (the Lambda's
//! remaining time less a margin, capped by the request timeout); retries and waits
//! read it so that no fault makes a request outlive it.

use std::time::Duration;

use tokio::time::Instant;

/// Outside a request (scheduled functions, tools) waits get this much.
const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

tokio::task_local! {
    static CURRENT: Instant;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    /// The deadline of the request this task serves, or the default budget from now.
    pub fn current() -> Self {
        CURRENT
            .try_with(|at| Self(*at))
            .unwrap_or_else(|_| Self::after(DEFAULT_BUDGET))
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// Whether waiting `wait` still leaves time for another attempt.
    pub fn allows(self, wait: Duration) -> bool {
        Instant::now() + wait < self.0
    }

    /// Runs `future` with this deadline visible to [`Deadline::current`].
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self.0, future).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scoped_deadline_is_current_inside_only() {
        let deadline = Deadline::after(Duration::from_millis(250));
        let inside = deadline.scope(async { Deadline::current() }).await;
        assert_eq!(inside, deadline);
        assert!(Deadline::current().allows(Duration::from_secs(5)));
        assert!(!deadline.allows(Duration::from_secs(1)));
        assert!(deadline.allows(Duration::ZERO));
    }
}
