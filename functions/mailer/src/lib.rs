//! The mailer: consumes the mail job queue (an SQS event source mapping with
//! `ReportBatchItemFailures`) and sends each job through SES v2.
//!
//! Per message: parse the job, open its sealed token, render the text and HTML
//! bodies, claim the job in the sent-marker table (a job already mailed is
//! acknowledged without mailing again), send, mark it sent. A message that fails is
//! reported in `batchItemFailures`, so only it comes back, and its visibility timeout
//! is raised to `MAIL_RETRY_BASE_SECONDS × 2^(receives − 1)` (at most
//! `MAIL_RETRY_MAX_SECONDS`): SQS redelivers it after that exponential backoff. After
//! the queue's `maxReceiveCount` receives (template.yaml) SQS moves it to the
//! dead-letter queue, whose depth raises an alarm.

pub mod deliveries;
pub mod templates;

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use secrecy::{ExposeSecret, SecretString};
use shared::{
    auth::unix_now,
    domain::Email,
    mail::config::MailerConfig,
    mail::{Job, job::VERSION},
    metrics,
    secrets::Secrets,
};

use crate::deliveries::{Claim, Deliveries};

/// What one instance builds once.
pub struct Mailer {
    pub config: MailerConfig,
    pub secrets: Secrets,
    pub ses: aws_sdk_sesv2::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub deliveries: Deliveries,
}

/// Why a message was not mailed this time.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the message is not a mail job this mailer knows: {0}")]
    Malformed(String),
    #[error("the app keys cannot be read: {0}")]
    Keys(String),
    #[error("the job's token does not open")]
    Sealed,
    #[error("template: {0}")]
    Template(#[from] templates::TemplateError),
    #[error("another delivery of this job is being sent")]
    InFlight,
    #[error(transparent)]
    Deliveries(#[from] deliveries::DeliveryError),
    #[error("ses: {0}")]
    Ses(String),
}

impl MailError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Keys(_) => "keys",
            Self::Sealed => "sealed",
            Self::Template(_) => "template",
            Self::InFlight => "in_flight",
            Self::Deliveries(_) => "deliveries",
            Self::Ses(_) => "ses",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// Mailed by an earlier delivery of the same job.
    Duplicate,
}

impl Mailer {
    /// Handles one batch; the answer names the messages to retry.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let results =
            futures_util::future::join_all(event.records.iter().map(|record| self.deliver(record)))
                .await;
        let mut response = SqsBatchResponse::default();
        for (record, result) in event.records.iter().zip(results) {
            if let Err(error) = result {
                // Lambda retries the whole batch when an identifier is missing or empty:
                // the safe direction for a message we cannot name.
                response.add_failure(record.message_id.clone().unwrap_or_default());
                self.back_off(record, &error).await;
            }
        }
        response
    }

    async fn deliver(&self, record: &SqsMessage) -> Result<Delivered, MailError> {
        let result = self.process(record).await;
        let receives = receive_count(record);
        match &result {
            Ok(delivered) => {
                let outcome = match delivered {
                    Delivered::Sent => "sent",
                    Delivered::Duplicate => "duplicate",
                };
                metrics::count("MailDeliveries", &[("Outcome", outcome)]);
            }
            Err(error) => {
                metrics::count("MailDeliveries", &[("Outcome", "failed")]);
                tracing::warn!(
                    messageId = record.message_id.as_deref().unwrap_or(""),
                    receives,
                    reason = error.reason(),
                    error = %error,
                    "mail not sent; the message will be retried"
                );
            }
        }
        result
    }

    async fn process(&self, record: &SqsMessage) -> Result<Delivered, MailError> {
        let body = record
            .body
            .as_deref()
            .ok_or_else(|| MailError::Malformed("no body".into()))?;
        // serde's message may quote the input (an address): only its class and place.
        let job: Job = serde_json::from_str(body).map_err(|e| {
            MailError::Malformed(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if job.version != VERSION {
            return Err(MailError::Malformed(format!("version {}", job.version)));
        }
        let to = Email::parse(&job.to).map_err(|e| MailError::Malformed(format!("to: {e}")))?;
        let link = self.link(&job).await?;
        let rendered = templates::render(&job, link.as_ref())?;

        match self.deliveries.claim(&job.id, unix_now()).await? {
            Claim::AlreadySent => {
                tracing::info!(jobId = %job.id, kind = job.mail.kind(), "mail job delivered again; mailed before, not again");
                return Ok(Delivered::Duplicate);
            }
            Claim::InFlight => return Err(MailError::InFlight),
            Claim::Claimed => {}
        }
        match self.send(&to, &rendered).await {
            Ok(message_id) => {
                if let Err(error) = self
                    .deliveries
                    .mark_sent(&job.id, &message_id, unix_now())
                    .await
                {
                    // Sent all the same: acknowledged, so SQS does not deliver it again.
                    tracing::error!(jobId = %job.id, error = %error, "mail sent but not marked sent");
                }
                tracing::info!(
                    jobId = %job.id,
                    kind = job.mail.kind(),
                    to = %to.masked(),
                    sesMessageId = %message_id,
                    "mail sent"
                );
                Ok(Delivered::Sent)
            }
            Err(error) => {
                if let Err(release) = self.deliveries.release(&job.id).await {
                    tracing::warn!(jobId = %job.id, error = %release, "claim not released; the retry waits for its lease");
                }
                Err(error)
            }
        }
    }

    /// The link of a link mail: `MAIL_LINK_BASE_URL#<action>=<token>`.
    async fn link(&self, job: &Job) -> Result<Option<SecretString>, MailError> {
        let Some(sealed) = job.mail.token() else {
            return Ok(None);
        };
        let keys = self
            .secrets
            .app_keys()
            .await
            .map_err(|e| MailError::Keys(e.to_string()))?;
        let token = sealed
            .open(&keys.mail_seal, &job.id)
            .map_err(|_| MailError::Sealed)?;
        let action = match job.mail {
            shared::mail::Mail::PasswordReset { .. } => "reset",
            _ => "verify",
        };
        Ok(Some(
            format!(
                "{}#{action}={}",
                self.config.link_base_url,
                token.expose_secret()
            )
            .into(),
        ))
    }

    async fn send(&self, to: &Email, rendered: &templates::Rendered) -> Result<String, MailError> {
        let content = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Ses(e.to_string()))
        };
        let message = Message::builder()
            .subject(content(&rendered.subject)?)
            .body(
                Body::builder()
                    .text(content(rendered.text.expose_secret())?)
                    .html(content(rendered.html.expose_secret())?)
                    .build(),
            )
            .build();
        let output = self
            .ses
            .send_email()
            .from_email_address(&self.config.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                // SES's message may quote an address: its code only.
                Some(refusal) => MailError::Ses(format!(
                    "refused: {}",
                    refusal.meta().code().unwrap_or("unknown error")
                )),
                None => MailError::Ses(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()),
            })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }

    /// Exponential backoff for a failed message: its visibility timeout grows with
    /// each receive. Should this fail, the queue's own timeout applies.
    async fn back_off(&self, record: &SqsMessage, error: &MailError) {
        let Some(receipt) = record.receipt_handle.as_deref() else {
            return;
        };
        let delay = backoff(
            receive_count(record),
            self.config.retry_base,
            self.config.retry_max,
        );
        let result = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.config.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await;
        match result {
            Ok(_) => tracing::info!(
                messageId = record.message_id.as_deref().unwrap_or(""),
                retryInSeconds = delay.as_secs(),
                reason = error.reason(),
                "mail retry scheduled"
            ),
            Err(e) => tracing::warn!(
                error = %aws_sdk_sqs::error::DisplayErrorContext(e),
                "could not delay the retry; the queue's visibility timeout applies"
            ),
        }
    }
}

fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// `base × 2^(receives − 1)`, at most `max`.
pub fn backoff(receives: u32, base: Duration, max: Duration) -> Duration {
    let doublings = receives.saturating_sub(1).min(20);
    base.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(900));
        let delays: Vec<u64> = (1..=7).map(|n| backoff(n, base, max).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(backoff(0, base, max).as_secs(), 30);
        assert_eq!(backoff(u32::MAX, base, max), max);
    }
}
