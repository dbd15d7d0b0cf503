//! What the latency examples share: the number of calls from the command line, the
//! local stack's state, timing sequential calls, and the percentile report.

use std::{future::Future, sync::Arc, time::Instant};

use shared::AppState;

/// N (the first argument, default 500) and the state of the stack the environment
/// names.
pub async fn setup() -> (usize, Arc<AppState>) {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let state = AppState::from_env()
        .await
        .unwrap_or_else(|e| panic!("{e} (source .stack/dev/env)"));
    (n, state)
}

/// Milliseconds each of `n` sequential calls `call(0)`, `call(1)`, … took.
pub async fn time_each<F, Fut>(n: usize, mut call: F) -> Vec<f64>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        call(i).await;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One line: `name`, p50 and p99 of `samples` (milliseconds).
pub fn report(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    println!(
        "{name:64} p50 {:7.3} ms   p99 {:7.3} ms",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}
