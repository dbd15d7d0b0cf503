//! The transactional outbox of mail jobs, and its relay to SQS.
//!
//! A job is inserted into `mail_outbox` in the writer transaction of the change that
//! causes it ([`Outbox::add`]): a change that rolls back leaves no job, a change that
//! commits cannot lose its job. After the commit the request relays its own rows
//! ([`MailQueue::relay`]: SendMessage, then delete the rows sent), so mail leaves at
//! once; a row it could not send (SQS unreachable, the instance stopped between commit
//! and send) is sent by the outbox-relay function ([`sweep`], every minute). A row may
//! so be sent twice (a relay that sent but could not delete): the mailer's idempotency
//! marker, keyed by the job's id, mails it once.

use std::time::Duration;

use aws_sdk_sqs::{error::DisplayErrorContext, types::SendMessageBatchRequestEntry};
use sqlx::{PgConnection, PgPool};

use super::job::Job;
use crate::{db::Db, metrics, store::StoreError};

/// The jobs a transaction wrote, to be relayed once it has committed.
#[derive(Debug, Default)]
#[must_use = "relay the jobs after the commit (MailQueue::relay)"]
pub struct Outbox {
    jobs: Vec<(String, String)>,
}

impl Outbox {
    /// Writes `job` in the caller's transaction.
    pub async fn add(&mut self, tx: &mut PgConnection, job: &Job) -> Result<(), StoreError> {
        let body = job.body();
        sqlx::query!(
            "INSERT INTO mail_outbox (id, body) VALUES ($1, $2::text::jsonb)",
            &job.id,
            &body
        )
        .execute(tx)
        .await?;
        tracing::info!(jobId = %job.id, kind = job.mail.kind(), to = %job.to_masked(), "mail job written to the outbox");
        self.jobs.push((job.id.clone(), body));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// How long a request spends relaying its jobs before leaving them to the sweeper.
const RELAY_BUDGET: Duration = Duration::from_secs(1);

/// The SQS queue of mail jobs.
pub struct MailQueue {
    client: aws_sdk_sqs::Client,
    url: Option<String>,
}

impl MailQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: Option<String>) -> Self {
        Self { client, url }
    }

    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// After the commit that wrote `outbox`: sends its jobs and deletes their rows.
    /// Never fails the request (the change is made, the rows wait for the sweeper).
    pub async fn relay(&self, db: &Db, outbox: Outbox) {
        if outbox.is_empty() {
            return;
        }
        let relayed = tokio::time::timeout(RELAY_BUDGET, self.relay_now(db, &outbox)).await;
        let outcome = match relayed {
            Ok(Ok(())) => "relayed",
            Ok(Err(error)) => {
                tracing::warn!(error = %error, jobs = outbox.jobs.len(), "mail jobs left in the outbox for the relay function");
                "deferred"
            }
            Err(_) => {
                tracing::warn!(
                    jobs = outbox.jobs.len(),
                    "mail relay timed out; jobs left in the outbox for the relay function"
                );
                "deferred"
            }
        };
        metrics::count("MailJobsRelayed", &[("Outcome", outcome)]);
    }

    async fn relay_now(&self, db: &Db, outbox: &Outbox) -> Result<(), RelayError> {
        let url = self.url.as_deref().ok_or(RelayError::NoQueue)?;
        let mut sent = Vec::with_capacity(outbox.jobs.len());
        for (id, body) in &outbox.jobs {
            self.client
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
                .map_err(|e| RelayError::Sqs(DisplayErrorContext(e).to_string()))?;
            sent.push(id.clone());
        }
        let mut writer = db.writer().await.map_err(StoreError::from)?;
        delete(&mut writer, &sent).await?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("MAIL_QUEUE_URL is not set")]
    NoQueue,
    #[error("sqs: {0}")]
    Sqs(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RelayError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

async fn delete(executor: &mut PgConnection, ids: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM mail_outbox WHERE id = ANY($1)", ids)
        .execute(executor)
        .await?;
    Ok(())
}

/// What one sweep did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    pub relayed: usize,
    pub failed: usize,
}

/// Jobs per sweep transaction; SendMessageBatch takes ten at a time.
const SWEEP_BATCH: i64 = 100;
const SQS_BATCH: usize = 10;

/// Sends the outbox rows older than `older_than` (younger ones are their request's to
/// relay), oldest first, and deletes those SQS accepted. Rows are locked with SKIP
/// LOCKED, so concurrent sweeps share the work instead of sending rows twice. Runs
/// until the outbox has no old rows left or a batch fails.
pub async fn sweep(
    pool: &PgPool,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    older_than: Duration,
) -> Result<Swept, RelayError> {
    let mut swept = Swept::default();
    loop {
        let mut tx = pool.begin().await?;
        let rows: Vec<(String, String)> = sqlx::query!(
            r#"SELECT id, body::text AS "body!" FROM mail_outbox
             WHERE created_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"#,
            older_than.as_secs_f64(),
            SWEEP_BATCH
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.id, row.body))
        .collect();
        if rows.is_empty() {
            return Ok(swept);
        }
        let mut sent = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, (_, body))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| RelayError::Sqs(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| RelayError::Sqs(DisplayErrorContext(e).to_string()))?;
            for ok in output.successful() {
                if let Some((id, _)) = ok.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    sent.push(id.clone());
                }
            }
            swept.failed += output.failed().len();
        }
        delete(&mut tx, &sent).await?;
        tx.commit().await?;
        swept.relayed += sent.len();
        metrics::emit(
            "MailJobsSwept",
            metrics::Unit::Count,
            sent.len() as f64,
            &[],
        );
        if swept.failed > 0 {
            // What SQS refused stays for the next run; do not spin on it now.
            return Ok(swept);
        }
    }
}
