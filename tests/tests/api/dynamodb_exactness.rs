//! Concurrent conditional writes on the stack's DynamoDB are exact. Every limit that
//! rests on them (the rate limiter's counters and leases, the login backoff, MFA
//! tokens used once, refresh-token rotation) is only as exact as the server that
//! evaluates the condition; the local stack serves DynamoDB from dynalite, which
//! applies each write whole (one Node.js thread, a per-item lock). moto evaluated a
//! condition and applied the update without a lock and once let an 11th of 10
//! through. These run with the other suites, under their load, on purpose: that is
//! where moto failed (so with `BH_LOCAL_DYNAMODB=moto` they may fail).

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    Client, operation::update_item::UpdateItemError, types::AttributeValue, types::ReturnValue,
};
use shared::resilience::faults::single_attempt;

async fn dynamodb() -> (Client, String) {
    let aws = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let sdk = shared::state::aws_sdk_config(&aws).await;
    (
        shared::state::dynamodb_client(&sdk, &aws),
        api_tests::require_env("RATE_LIMIT_TABLE"),
    )
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk.to_owned()))])
}

fn fresh_pk(what: &str) -> String {
    format!("exactness#{what}#{}", uuid::Uuid::new_v4())
}

/// The output when the write applied, `None` when its condition failed; any other
/// answer fails the test.
fn applied<T>(result: Result<T, aws_sdk_dynamodb::error::SdkError<UpdateItemError>>) -> Option<T> {
    match result {
        Ok(output) => Some(output),
        Err(error)
            if matches!(
                error.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            None
        }
        Err(error) => panic!("the write neither applied nor failed its condition: {error:?}"),
    }
}

async fn count(client: &Client, table: &str, pk: &str, attribute: &str) -> Option<String> {
    let item = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk)))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .item;
    item.and_then(|item| item.get(attribute)?.as_n().ok().cloned())
}

async fn delete(client: &Client, table: &str, pk: &str) {
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(key(pk)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

/// The rate limiter's write: `ADD count 1` if the item is new or `count <= limit - 1`.
/// 300 at once on a new item, limit 50: exactly 50 apply, each seeing its own count
/// (1 to 50, no number twice), and the item ends at 50.
#[tokio::test]
async fn concurrent_conditional_adds_apply_exactly_the_limit() {
    let (client, table) = dynamodb().await;
    let pk = fresh_pk("add");
    let limit = 50_u32;
    let results = futures_util::future::join_all((0..300).map(|_| {
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(key(&pk)))
            .update_expression("ADD #count :one")
            .condition_expression("attribute_not_exists(#count) OR #count <= :room")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":room", AttributeValue::N((limit - 1).to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .customize()
            .config_override(single_attempt())
            .send()
    }))
    .await;
    let mut counts: Vec<u32> = results
        .into_iter()
        .filter_map(applied)
        .map(|output| {
            output
                .attributes
                .as_ref()
                .and_then(|a| a.get("count")?.as_n().ok()?.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=limit).collect::<Vec<_>>(),
        "each of the first {limit} writes applied once, seeing its own count"
    );
    assert_eq!(
        count(&client, &table, &pk, "count").await.as_deref(),
        Some("50")
    );
    delete(&client, &table, &pk).await;
}

/// The single-use shape (MFA tokens, a session's creation): `SET used` if it is not
/// set yet. 100 at once: exactly one applies.
#[tokio::test]
async fn concurrent_first_writes_of_one_item_apply_once() {
    let (client, table) = dynamodb().await;
    let pk = fresh_pk("once");
    let results = futures_util::future::join_all((0..100).map(|i| {
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(key(&pk)))
            .update_expression("SET used = :by")
            .condition_expression("attribute_not_exists(used)")
            .expression_attribute_values(":by", AttributeValue::N(i.to_string()))
            .customize()
            .config_override(single_attempt())
            .send()
    }))
    .await;
    let first = results.into_iter().filter_map(applied).count();
    assert_eq!(first, 1, "one first write, every other refused");
    assert!(count(&client, &table, &pk, "used").await.is_some());
    delete(&client, &table, &pk).await;
}

/// The rotation shape: advance `generation` from the value presented. 50 at once
/// presenting the same generation: exactly one moves it, to the next one.
#[tokio::test]
async fn concurrent_compare_and_set_advances_once() {
    let (client, table) = dynamodb().await;
    let pk = fresh_pk("cas");
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("generation", AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let results = futures_util::future::join_all((0..50).map(|_| {
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(key(&pk)))
            .update_expression("SET generation = generation + :one")
            .condition_expression("generation = :presented")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":presented", AttributeValue::N("0".into()))
            .customize()
            .config_override(single_attempt())
            .send()
    }))
    .await;
    let advanced = results.into_iter().filter_map(applied).count();
    assert_eq!(advanced, 1);
    assert_eq!(
        count(&client, &table, &pk, "generation").await.as_deref(),
        Some("1")
    );
    delete(&client, &table, &pk).await;
}
