//! Requests this instance is handling, so a shutdown lets them finish before the pools
//! close (Lambda sends SIGTERM, then SIGKILL 500 ms later).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

/// A count of requests in progress.
pub struct InFlight(AtomicUsize);

/// This instance's requests (counted by the outermost layer, `context::track`).
pub static REQUESTS: InFlight = InFlight::new();

/// Counts one request while it lives.
pub struct Guard<'a>(&'a InFlight);

impl InFlight {
    pub const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    pub fn enter(&self) -> Guard<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Guard(self)
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Resolves once no request is being handled (checked every few milliseconds: a
    /// shutdown happens once per instance).
    pub async fn drained(&self) {
        while self.count() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drains_once_the_last_request_ends() {
        static COUNTED: InFlight = InFlight::new();
        let first = COUNTED.enter();
        let second = COUNTED.enter();
        assert_eq!(COUNTED.count(), 2);
        let waiting = tokio::spawn(COUNTED.drained());
        drop(first);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "one request still runs");
        drop(second);
        tokio::time::timeout(Duration::from_millis(50), waiting)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(COUNTED.count(), 0);
    }
}
