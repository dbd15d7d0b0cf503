//! The mailer function's entry point: an SQS event source with partial batch failures
//! (`ReportBatchItemFailures`); the work is in `lib.rs`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use mailer::{Mailer, deliveries::Deliveries};
use shared::{
    config::AwsConfig, mail::config::MailerConfig, resilience::Breakers,
    resilience::config::ResilienceConfig, secrets::Secrets, secrets::config::SecretsConfig, state,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let mailer = Arc::new(
        build()
            .await
            .inspect_err(|error| tracing::error!(error = %error, "fatal: cannot start"))?,
    );
    // Without the keys no link mail can be written: stop at cold start (Lambda retries
    // it) rather than fail every message.
    mailer
        .secrets
        .warm_app_keys(&ResilienceConfig::from_env()?.retry)
        .await
        .inspect_err(
            |error| tracing::error!(error = %error, "fatal: cannot read a secret at cold start"),
        )?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let mailer = mailer.clone();
        async move { Ok::<_, Error>(mailer.handle(event.payload).await) }
    }))
    .await
}

async fn build() -> Result<Mailer, Error> {
    let config = MailerConfig::from_env()?;
    let aws = state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let breakers = Breakers::new(&ResilienceConfig::from_env()?);
    let ses = match &config.ses_endpoint_url {
        Some(url) => aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(&aws)
                .endpoint_url(url)
                .build(),
        ),
        None => aws_sdk_sesv2::Client::new(&aws),
    };
    Ok(Mailer {
        secrets: Secrets::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            breakers.secrets.clone(),
            &SecretsConfig::from_env()?,
        ),
        deliveries: Deliveries::new(
            aws_sdk_dynamodb::Client::new(&aws),
            config.deliveries_table.clone(),
        ),
        sqs: aws_sdk_sqs::Client::new(&aws),
        ses,
        config,
    })
}
