//! Applies the migrations embedded in `shared::MIGRATOR` to the writer, and creates
//! privileged accounts (the first admin of a deployed stack: signup only makes users).
//!
//! Under the Lambda runtime (invoked after a deploy) an event
//! `{"createAccount": {"role": "admin"|"moderator", "username": ..., "email": ...}}`
//! creates an account and returns `{account, password}`; any other event applies the
//! migrations. Anywhere else (`cargo run -p migrate`, the local stack script) it runs
//! once and exits: no arguments migrates, `create-account --role ... --username ...
//! --email ...` creates the account and prints `{account, password}` (see
//! [`cli::USAGE`]). sqlx takes an advisory lock, so concurrent migrations are safe.

mod cli;
mod create_account;

use std::{process::ExitCode, sync::Arc};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use shared::{db::Db, state};

use crate::create_account::CreateAccountError;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The CLI's exit status when the account already exists, so scripts can tell
/// "already made" from a failure.
const EXIT_TAKEN: u8 = 3;

async fn migrate(db: &Db) -> Result<Value, Error> {
    shared::MIGRATOR.run(db.writer_pool()).await?;
    let applied =
        sqlx::query_scalar!("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(db.writer_pool())
            .await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(json!({ "applied": applied }))
}

/// One Lambda invocation: a `createAccount` event, or migrations.
async fn invoke(db: &Db, event: LambdaEvent<Value>) -> Result<Value, Error> {
    match event.payload.get("createAccount") {
        Some(request) => {
            let request: create_account::Request = serde_json::from_value(request.clone())
                .map_err(|e| CreateAccountError::Invalid(e.to_string()))?;
            Ok(create_account::run(db, &request, "lambda", &event.context.request_id).await?)
        }
        None => migrate(db).await,
    }
}

async fn connect() -> Result<Arc<Db>, Error> {
    Ok(Arc::new(state::connect_db_from_env().await?))
}

async fn run_cli(command: cli::Command) -> Result<(), Error> {
    let db = connect().await?;
    let output = match command {
        cli::Command::Migrate => migrate(&db).await?,
        cli::Command::CreateAccount(request) => {
            let request_id = cli_request_id();
            create_account::run(&db, &request, "cli", &request_id).await?
        }
    };
    println!("{output}");
    Ok(())
}

/// A request id for the audit log of a CLI run: the process id and the time.
fn cli_request_id() -> String {
    format!(
        "migrate-cli-{}-{}",
        std::process::id(),
        shared::auth::unix_now()
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        shared::telemetry::init();
        let result = async {
            let db = connect().await?;
            let handler = service_fn(move |event: LambdaEvent<Value>| {
                let db = db.clone();
                async move { invoke(&db, event).await }
            });
            lambda_runtime::run(handler).await
        }
        .await;
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    // The logs go to stdout too; create-account's stdout is its one JSON document, for
    // scripts to read, and its errors go to stderr.
    if command == cli::Command::Migrate {
        shared::telemetry::init();
    }
    match run_cli(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(
                error.downcast_ref::<CreateAccountError>(),
                Some(CreateAccountError::Taken(_))
            ) {
                ExitCode::from(EXIT_TAKEN)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
