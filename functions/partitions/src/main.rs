//! The partitions function: an EventBridge schedule (daily) runs maintenance on the
//! writer and returns the summary, and emits the daily `ActiveAccounts` gauge. The
//! maintenance itself is `shared::partitions` (the admin function runs it on demand).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::{
    partitions::{self, MaintenanceConfig},
    state,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Arc::new(MaintenanceConfig::from_env()?);
    let db = Arc::new(state::connect_db_from_env().await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (db, config) = (db.clone(), config.clone());
        async move {
            let today = time::OffsetDateTime::now_utc().date();
            let summary = partitions::run(db.writer_pool(), &config, today).await?;
            tracing::info!(summary = ?summary, "partition maintenance");
            // The daily business gauge rides on the daily schedule; from the reader.
            let active = partitions::report_active_accounts(db.reader_pool()).await;
            let mut answer = serde_json::to_value(summary)?;
            answer["activeAccounts"] = active.into();
            Ok::<_, Error>(answer)
        }
    }))
    .await
}
