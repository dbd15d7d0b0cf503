//! The mail the local stack sent, as SES (the stack's SES-only moto) received it, and
//! the mail queue: what the end-to-end suites of account recovery read and feed.
//!
//! Mail is asynchronous by design (outbox → SQS → the mailer, fed by
//! `scripts/mail.py poll` → SES), so a test waits for a mail by polling SES with a
//! bound ([`wait_for_mail`]); nothing else here waits.

use std::time::Duration;

use serde_json::Value;

use crate::{app, eventually, require_env};

/// How long a mail may take from its request to SES: the poller long-polls the queue
/// a second at a time; on a loaded two-core machine a batch can take seconds.
pub const MAIL_PATIENCE: Duration = Duration::from_secs(45);

#[derive(Debug, Clone)]
pub struct SentMail {
    pub id: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML body (SES keeps one body of a text+HTML mail; moto keeps the HTML).
    pub body: String,
}

/// Every mail SES has accepted so far.
pub async fn sent_mails() -> Vec<SentMail> {
    let endpoint = require_env("AWS_ENDPOINT_URL_SESV2");
    let data: Value = app()
        .http_at(
            endpoint.trim_end_matches('/'),
            reqwest::Method::GET,
            "/moto-api/data.json",
        )
        .try_send()
        .await
        .unwrap_or_else(|e| panic!("cannot read SES's sent mail: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("SES's sent mail is not JSON: {e}"));
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|mail| SentMail {
            id: mail["id"].as_str().unwrap_or_default().to_owned(),
            to: mail["destinations"]
                .as_object()
                .into_iter()
                .flat_map(|d| d.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            subject: mail["subject"].as_str().unwrap_or_default().to_owned(),
            body: mail["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The mails to `address` whose subject contains `subject`, in the order SES got them.
pub async fn mails_to(address: &str, subject: &str) -> Vec<SentMail> {
    sent_mails()
        .await
        .into_iter()
        .filter(|mail| mail.to.iter().any(|to| to == address) && mail.subject.contains(subject))
        .collect()
}

/// Waits (bounded: mail is asynchronous) until at least `count` such mails arrived, and
/// answers them all.
pub async fn wait_for_mails(address: &str, subject: &str, count: usize) -> Vec<SentMail> {
    eventually(
        &format!("{count} mail(s) \"{subject}\" to {address}"),
        MAIL_PATIENCE,
        || async {
            let mails = mails_to(address, subject).await;
            (mails.len() >= count).then_some(mails)
        },
    )
    .await
}

/// The first mail `subject` to `address`, once it arrived.
pub async fn wait_for_mail(address: &str, subject: &str) -> SentMail {
    wait_for_mails(address, subject, 1).await.remove(0)
}

pub const RESET_SUBJECT: &str = "Reset your Blue Harvest password";
pub const VERIFY_SUBJECT: &str = "Confirm your email address";
pub const CHANGE_SUBJECT: &str = "Confirm your new email address";
pub const CHANGE_NOTICE_SUBJECT: &str = "email address is about to change";
pub const WELCOME_SUBJECT: &str = "Welcome to Blue Harvest";

/// The token of the mail's `#<action>=<token>` link (`reset` or `verify`).
pub fn link_token(mail: &SentMail, action: &str) -> String {
    let marker = format!("#{action}=");
    let start = mail
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} link in the mail \"{}\"", mail.subject))
        + marker.len();
    mail.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The SQS client of the stack (moto).
pub async fn sqs() -> aws_sdk_sqs::Client {
    let config = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    aws_sdk_sqs::Client::new(&shared::state::aws_sdk_config(&config).await)
}

/// Invokes the mailer as the SQS event source does (cargo lambda watch's Lambda invoke
/// API), with `event`, exactly once; answers its response (`batchItemFailures`).
pub async fn invoke_mailer(event: &Value) -> Value {
    let response = app()
        .post("/2015-03-31/functions/mailer/invocations")
        .json(event)
        .try_send()
        .await
        .unwrap_or_else(|e| panic!("cannot invoke the mailer: {e}"));
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("the mailer's answer is not JSON: {e}"))
}

/// An SQS event record as Lambda's event source mapping builds it.
pub fn sqs_record(message_id: &str, body: &str, receive_count: u32) -> Value {
    serde_json::json!({
        "messageId": message_id,
        "receiptHandle": format!("test-receipt-{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count.to_string(),
            "SentTimestamp": "1795600000000",
            "SenderId": "test",
            "ApproximateFirstReceiveTimestamp": "1795600000000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:blue-harvest-mail",
        "awsRegion": "us-east-1",
    })
}
