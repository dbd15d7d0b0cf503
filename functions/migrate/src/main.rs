//! Applies the migrations embedded in `shared::MIGRATOR` to the writer.
//!
//! Under the Lambda runtime (invoked after a deploy) it runs once per invocation;
//! anywhere else (`cargo run -p migrate`, the local stack script) it runs once and
//! exits. sqlx takes an advisory lock, so concurrent runs are safe.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use shared::{
    config::{AwsConfig, DatabaseConfig},
    db::Db,
    state,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn migrate(db: &Db) -> Result<Value, Error> {
    shared::MIGRATOR.run(db.writer()).await?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(db.writer())
            .await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(json!({ "applied": applied }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let aws = state::aws_sdk_config(&AwsConfig::from_env()?).await;
    let db = Arc::new(state::connect_db(&DatabaseConfig::from_env()?, &aws).await?);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let handler = service_fn(move |_: LambdaEvent<Value>| {
            let db = db.clone();
            async move { migrate(&db).await }
        });
        lambda_runtime::run(handler).await
    } else {
        println!("{}", migrate(&db).await?);
        Ok(())
    }
}
