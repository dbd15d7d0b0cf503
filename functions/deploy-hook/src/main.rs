//! The pre-traffic hook's entry point; what it checks is in `lib.rs`.

use std::time::Duration;

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use deploy_hook::{HookEvent, READY_EVENT, Target};
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::AwsConfig;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The functions and versions a deployment shifts.
async fn targets(
    codedeploy: &aws_sdk_codedeploy::Client,
    deployment_id: &str,
) -> Result<Vec<Target>, Error> {
    let ids = codedeploy
        .list_deployment_targets()
        .deployment_id(deployment_id)
        .send()
        .await?
        .target_ids
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(format!("deployment {deployment_id} has no targets").into());
    }
    let found = codedeploy
        .batch_get_deployment_targets()
        .deployment_id(deployment_id)
        .set_target_ids(Some(ids))
        .send()
        .await?;
    Ok(found
        .deployment_targets()
        .iter()
        .filter_map(|target| target.lambda_target()?.lambda_function_info())
        .filter_map(|info| {
            Some(Target {
                function_name: info.function_name()?.to_owned(),
                version: info.target_version()?.to_owned(),
            })
        })
        .collect())
}

/// Invokes the new version with the readiness event and judges its answer.
async fn check(
    lambda: &aws_sdk_lambda::Client,
    target: &Target,
    health_function: Option<&str>,
) -> Result<(), Error> {
    let answer = lambda
        .invoke()
        .function_name(&target.function_name)
        .qualifier(&target.version)
        .payload(READY_EVENT.as_bytes().into())
        .send()
        .await?;
    let payload = answer.payload().map(|p| p.as_ref()).unwrap_or_default();
    let is_health = deploy_hook::is_health(&target.function_name, health_function);
    let status = deploy_hook::verdict(target, is_health, answer.function_error(), payload)?;
    tracing::info!(
        function = %target.function_name,
        version = %target.version,
        status,
        "the new version answers the readiness check"
    );
    Ok(())
}

async fn hook(
    codedeploy: &aws_sdk_codedeploy::Client,
    lambda: &aws_sdk_lambda::Client,
    health_function: Option<&str>,
    event: &HookEvent,
) -> Result<(), Error> {
    let targets = targets(codedeploy, &event.deployment_id).await?;
    if targets.is_empty() {
        return Err("no Lambda target in the deployment".into());
    }
    for target in &targets {
        check(lambda, target, health_function).await?;
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let aws = shared::state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(&aws);
    // A new version's first invocation is a cold start in the VPC (secrets, pools):
    // give it longer than the SDK's default bound on one call.
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&aws)
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(45))
                    .operation_attempt_timeout(Duration::from_secs(40))
                    .build(),
            )
            .build(),
    );
    let health_function = std::env::var("HEALTH_FUNCTION_NAME").ok();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HookEvent>| {
        let (codedeploy, lambda, health) = (codedeploy.clone(), lambda.clone(), health_function.clone());
        async move {
            let event = event.payload;
            let outcome = hook(&codedeploy, &lambda, health.as_deref(), &event).await;
            let status = match &outcome {
                Ok(()) => LifecycleEventStatus::Succeeded,
                Err(error) => {
                    tracing::error!(deployment = %event.deployment_id, error = %error, "pre-traffic check failed: the deployment stops");
                    LifecycleEventStatus::Failed
                }
            };
            // Without this report CodeDeploy waits an hour before it gives up.
            codedeploy
                .put_lifecycle_event_hook_execution_status()
                .deployment_id(&event.deployment_id)
                .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
                .status(status.clone())
                .send()
                .await?;
            Ok::<_, Error>(serde_json::json!({ "status": status.as_str() }))
        }
    }))
    .await
}
