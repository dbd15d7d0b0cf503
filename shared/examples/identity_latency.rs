//! What holding a token against DynamoDB costs a request (docs/benchmarks.md,
//! "Revocation"), on the local stack, side by side in one run:
//!
//!   . .stack/dev/env && cargo run --release -p shared --example identity_latency [N]
//!
//! Before revocation was checked, a request read one item: the client IP's block
//! (GetItem, eventually consistent). Now the identity layer makes one BatchGetItem:
//! the block, and for a caller its session and account items, strongly consistent;
//! an anonymous request from an IP seen unblocked within the last second makes none.
//! N sequential calls of each; distinct IPs and accounts, so nothing is cached unless
//! the line says so.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use shared::{
    AppState,
    store::request_state::{Access, Claimed},
};

#[path = "support/timing.rs"]
mod timing;

use timing::report;

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let state = AppState::from_env()
        .await
        .unwrap_or_else(|e| panic!("{e} (source .stack/dev/env)"));
    let states = &state.request_states;
    let ip = |run: usize, i: usize| format!("10.{run}.{}.{}", i / 250, i % 250);
    // Warm up the client's connections.
    for i in 0..20 {
        let _ = states.load(&ip(200, i), None, Access::Read, 0).await;
    }
    println!("{n} sequential calls each");

    let mut before = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        state
            .dynamodb
            .get_item()
            .table_name(&state.config.tables.rate_limits)
            .key("pk", AttributeValue::S(format!("block#{}", ip(1, i))))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        before.push(ms_since(started));
    }
    report("before: GetItem of the IP's block", before);

    let mut anonymous = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        states
            .load(&ip(2, i), None, Access::Read, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        anonymous.push(ms_since(started));
    }
    report(
        "now, anonymous, new IP: BatchGetItem of the block",
        anonymous,
    );

    let mut remembered = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        states
            .load(&ip(2, i % 20), None, Access::Read, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        remembered.push(ms_since(started));
    }
    report(
        "now, anonymous, IP seen unblocked < 1 s ago: no call",
        remembered,
    );

    let mut caller = Vec::with_capacity(n);
    for i in 0..n {
        let session = format!("bench-session-{i}");
        let claimed = Claimed {
            account_id: 1_000_000_000 + i as i64,
            session_id: &session,
        };
        let started = Instant::now();
        states
            .load(&ip(3, i), Some(claimed), Access::Read, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        caller.push(ms_since(started));
    }
    report(
        "now, caller: BatchGetItem of block + session + account (strong)",
        caller,
    );
}
