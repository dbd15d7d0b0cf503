//! The outbox-relay function (an EventBridge schedule, every minute): sends the mail
//! jobs a request committed but did not relay itself (`shared::mail::outbox::sweep`),
//! and answers `{"relayed", "failed"}`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::{config::AwsConfig, mail::config::OutboxRelayConfig, mail::outbox, state};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Arc::new(OutboxRelayConfig::from_env()?);
    let aws = state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let db = Arc::new(state::connect_db_from_env().await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (db, sqs, config) = (db.clone(), sqs.clone(), config.clone());
        async move {
            let swept = outbox::sweep(
                db.writer_pool(),
                &sqs,
                &config.queue_url,
                config.relay_after,
            )
            .await
            .inspect_err(|error| tracing::error!(error = %error, "outbox relay failed"))?;
            if swept.relayed + swept.failed > 0 {
                tracing::info!(
                    relayed = swept.relayed,
                    failed = swept.failed,
                    "outbox relayed"
                );
            }
            Ok::<_, Error>(serde_json::to_value(swept)?)
        }
    }))
    .await
}
