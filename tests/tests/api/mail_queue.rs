//! The mail job queue and the mailer: one failing message in a batch is the only one
//! retried and lands in the dead-letter queue after the queue's maxReceiveCount
//! receives (its redrive policy, made from template.yaml); a redelivered message is
//! mailed once. The messages go through moto's SQS and the stack's poller (Lambda's
//! event source mapping, `scripts/mail.py poll`), or straight to the mailer through
//! cargo lambda watch's invoke API where the test must play the event source itself.

use api_tests::{
    eventually,
    mail::{
        MAIL_PATIENCE, WELCOME_SUBJECT, invoke_mailer, mails_to, sqs, sqs_record, wait_for_mail,
    },
    new_user, require_env,
};
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use serde_json::{Value, json};
use shared::{
    domain::Email,
    mail::{Job, Mail},
};

/// A welcome job to a fresh address: a mail with no secret in it.
fn welcome() -> (String, Job) {
    let address = new_user().email;
    let email = Email::parse(&address).unwrap_or_else(|e| panic!("{e}"));
    (address, Job::new(&email, "queue_test", Mail::Welcome))
}

/// A job the mailer cannot send: its recipient is no address.
fn undeliverable() -> Job {
    let (_, mut job) = welcome();
    job.to = "nobody".into();
    job
}

async fn max_receive_count() -> i64 {
    let attributes = sqs()
        .await
        .get_queue_attributes()
        .queue_url(require_env("MAIL_QUEUE_URL"))
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let policy: Value = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| panic!("the mail queue has no redrive policy"));
    policy["maxReceiveCount"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn a_failing_message_alone_is_retried_and_lands_in_the_dead_letter_queue() {
    let ((first_to, first), (second_to, second)) = (welcome(), welcome());
    let bad = undeliverable();
    let entries: Vec<SendMessageBatchRequestEntry> = [&first, &bad, &second]
        .iter()
        .enumerate()
        .map(|(i, job)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(job.body())
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let client = sqs().await;
    let sent = client
        .send_message_batch()
        .queue_url(require_env("MAIL_QUEUE_URL"))
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(sent.failed().is_empty());

    // The bad message comes back (exponential backoff, MAIL_RETRY_* short in the test
    // stack) until SQS moves it to the dead-letter queue: polled with a bound, as the
    // moves are asynchronous by design.
    let limit = max_receive_count().await;
    assert!(limit >= 2, "the template's maxReceiveCount: {limit}");
    let dlq = require_env("MAIL_DLQ_URL");
    let landed = eventually(
        "the failing message in the dead-letter queue",
        MAIL_PATIENCE,
        || {
            let (client, dlq, id) = (client.clone(), dlq.clone(), bad.id.clone());
            async move {
                let received = client
                    .receive_message()
                    .queue_url(&dlq)
                    .max_number_of_messages(10)
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .visibility_timeout(0)
                    .send()
                    .await
                    .ok()?;
                received
                    .messages()
                    .iter()
                    .find(|m| m.body().is_some_and(|b| b.contains(&id)))
                    .cloned()
            }
        },
    )
    .await;
    let receives: i64 = landed
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    // Received maxReceiveCount times from the mail queue, then moved; once more here.
    assert_eq!(
        receives,
        limit + 1,
        "delivered maxReceiveCount times, then moved"
    );
    if let Some(receipt) = landed.receipt_handle() {
        let _ = client
            .delete_message()
            .queue_url(&dlq)
            .receipt_handle(receipt)
            .send()
            .await;
    }

    // The two good messages of the batch were mailed once each, not retried with it.
    for (to, job) in [(&first_to, &first), (&second_to, &second)] {
        wait_for_mail(to, WELCOME_SUBJECT).await;
        assert_eq!(mails_to(to, "").await.len(), 1, "job {}", job.id);
    }
}

#[tokio::test]
async fn the_mailer_reports_only_the_message_that_failed() {
    let ((first_to, first), (second_to, second)) = (welcome(), welcome());
    let bad = undeliverable();
    let event = json!({ "Records": [
        sqs_record("m-first", &first.body(), 1),
        sqs_record("m-bad", &bad.body(), 1),
        sqs_record("m-second", &second.body(), 1),
    ]});
    let answer = invoke_mailer(&event).await;
    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": "m-bad" }] }),
        "only the failed message is reported"
    );
    // The invocation has returned: what it mailed is in SES already.
    for to in [&first_to, &second_to] {
        assert_eq!(mails_to(to, WELCOME_SUBJECT).await.len(), 1);
    }
}

#[tokio::test]
async fn a_redelivered_message_is_mailed_once() {
    let (to, job) = welcome();
    let record = sqs_record("m-redelivered", &job.body(), 1);
    let answer = invoke_mailer(&json!({ "Records": [record] })).await;
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    // SQS delivers it again (a visibility timeout ran out, a second relay of the
    // outbox row): acknowledged, not mailed again.
    let again = sqs_record("m-redelivered", &job.body(), 2);
    let answer = invoke_mailer(&json!({ "Records": [again] })).await;
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    let copy = sqs_record("m-other-copy", &job.body(), 1);
    let answer = invoke_mailer(&json!({ "Records": [copy] })).await;
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(mails_to(&to, WELCOME_SUBJECT).await.len(), 1);
}
