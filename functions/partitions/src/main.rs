//! The partitions function: an EventBridge schedule (daily) runs maintenance on the
//! writer and returns the summary. The maintenance itself is in `lib.rs`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use partitions::MaintenanceConfig;
use serde_json::Value;
use shared::{
    config::{AwsConfig, DatabaseConfig},
    state,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Arc::new(MaintenanceConfig::from_env()?);
    let aws = state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let db = Arc::new(state::connect_db(&DatabaseConfig::from_env()?, &aws).await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (db, config) = (db.clone(), config.clone());
        async move {
            let today = time::OffsetDateTime::now_utc().date();
            let summary = partitions::run(db.writer(), &config, today).await?;
            tracing::info!(summary = ?summary, "partition maintenance");
            Ok::<_, Error>(serde_json::to_value(summary)?)
        }
    }))
    .await
}
