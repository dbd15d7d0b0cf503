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

use aws_sdk_dynamodb::types::AttributeValue;
use shared::store::request_state::{Access, Claimed, RequestStates};

#[path = "support/bench.rs"]
mod bench;

use bench::{report, setup, time_each};

/// One identity read, as the layer makes it for a GET.
async fn load(states: &RequestStates, ip: String, caller: Option<Claimed<'_>>) {
    states
        .load(&ip, caller, Access::Read, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::main]
async fn main() {
    let (n, state) = setup().await;
    let states = &state.request_states;
    let ip = |run: usize, i: usize| format!("10.{run}.{}.{}", i / 250, i % 250);
    // Warm up the client's connections.
    time_each(20, |i| load(states, ip(200, i), None)).await;
    println!("{n} sequential calls each");

    let before = time_each(n, |i| {
        let request = state
            .dynamodb
            .get_item()
            .table_name(&state.config.tables.rate_limits)
            .key("pk", AttributeValue::S(format!("block#{}", ip(1, i))));
        async move {
            request.send().await.unwrap_or_else(|e| panic!("{e:?}"));
        }
    })
    .await;
    report("before: GetItem of the IP's block", before);
    report(
        "now, anonymous, new IP: BatchGetItem of the block",
        time_each(n, |i| load(states, ip(2, i), None)).await,
    );
    report(
        "now, anonymous, IP seen unblocked < 1 s ago: no call",
        time_each(n, |i| load(states, ip(2, i % 20), None)).await,
    );
    let sessions: Vec<String> = (0..n).map(|i| format!("bench-session-{i}")).collect();
    let caller = time_each(n, |i| {
        let claimed = Claimed {
            account_id: 1_000_000_000 + i as i64,
            session_id: &sessions[i],
        };
        load(states, ip(3, i), Some(claimed))
    })
    .await;
    report(
        "now, caller: BatchGetItem of block + session + account (strong)",
        caller,
    );
}
