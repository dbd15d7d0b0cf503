//! The sent markers (`MAIL_DELIVERIES_TABLE`, key `jobId`): what makes a job mailed at
//! most once however often it is delivered.
//!
//! Before sending, a job is claimed with one conditional write: the item is created as
//! `sending` with a lease, unless it exists (`sent`, or `sending` under a live lease).
//! After SES accepted the mail the item says `sent`; if SES refused, the claim is
//! dropped so a retry may send. A duplicate delivery finds `sent` and is acknowledged
//! without mailing; one that arrives while another instance is sending finds a live
//! lease and is retried later. The one window left is a crash between SES accepting
//! and the `sent` write: after the lease a retry mails again (SES has no idempotency
//! key), so at most one duplicate, and only then. Items expire after 14 days, past
//! SQS's retention of any copy of the job.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, ProvideErrorMetadata},
    operation::put_item::PutItemError,
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};

const SENDING: &str = "sending";
const SENT: &str = "sent";
const KEEP: Duration = Duration::from_secs(14 * 24 * 3600);

/// Longer than one send may take (the SDK's operation timeout), so a live claim means
/// a send may still be under way.
pub const LEASE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This delivery sends the job.
    Claimed,
    /// Mailed before: acknowledge without sending.
    AlreadySent,
    /// Another delivery is sending it now: retry later.
    InFlight,
}

#[derive(Debug, thiserror::Error)]
#[error("dynamodb: {0}")]
pub struct DeliveryError(String);

pub struct Deliveries {
    client: Client,
    table: String,
}

fn key(job_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("jobId".to_owned(), AttributeValue::S(job_id.to_owned()))])
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> DeliveryError {
    DeliveryError(DisplayErrorContext(error).to_string())
}

impl Deliveries {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn claim(&self, job_id: &str, now: i64) -> Result<Claim, DeliveryError> {
        let lease = i64::try_from(LEASE.as_secs()).unwrap_or(60);
        let keep = i64::try_from(KEEP.as_secs()).unwrap_or(i64::MAX / 4);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("jobId", AttributeValue::S(job_id.to_owned()))
            .item("state", AttributeValue::S(SENDING.into()))
            .item("leaseUntil", n(now + lease))
            .item("expiresAt", n(now + keep))
            .condition_expression(
                "attribute_not_exists(jobId) OR (#state = :sending AND leaseUntil < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", AttributeValue::S(SENDING.into()))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(Claim::Claimed),
            Err(error) => error,
        };
        let Some(PutItemError::ConditionalCheckFailedException(refused)) = error.as_service_error()
        else {
            return Err(failed(error));
        };
        let state = match refused.item() {
            Some(item) => item.get("state").and_then(|v| v.as_s().ok()).cloned(),
            // Not every store returns the item with the refusal: read it.
            None => self.state(job_id).await?,
        };
        Ok(if state.as_deref() == Some(SENT) {
            Claim::AlreadySent
        } else {
            Claim::InFlight
        })
    }

    async fn state(&self, job_id: &str) -> Result<Option<String>, DeliveryError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(job_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        Ok(output
            .item()
            .and_then(|item| item.get("state"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// SES accepted the mail (`message_id` is SES's id for it).
    pub async fn mark_sent(
        &self,
        job_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<(), DeliveryError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_id)))
            .update_expression(
                "SET #state = :sent, sentAt = :now, sesMessageId = :id REMOVE leaseUntil",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", AttributeValue::S(SENT.into()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// SES refused: the claim goes, so the retry may send.
    pub async fn release(&self, job_id: &str) -> Result<(), DeliveryError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(job_id)))
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", AttributeValue::S(SENDING.into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(failed(error)),
        }
    }
}
