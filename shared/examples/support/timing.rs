//! Percentiles of sequential timings, as both latency examples report them.

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
