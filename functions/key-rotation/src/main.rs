//! The key-rotation function's entry point; the rotation steps are in `lib.rs`.

use lambda_runtime::{LambdaEvent, service_fn};
use shared::{auth::config::AuthConfig, config::AwsConfig};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let aws = shared::state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    let retire_after = key_rotation::retire_after(&AuthConfig::from_env()?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<key_rotation::RotationEvent>| {
            let client = client.clone();
            async move {
                // Secrets Manager shows the error text; it never holds key material.
                key_rotation::rotate(&client, &event.payload, retire_after)
                    .await
                    .map_err(|e| Error::from(e.to_string()))
            }
        },
    ))
    .await
}
