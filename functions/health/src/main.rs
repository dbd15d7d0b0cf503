//! The health function: builds state once per instance, then serves its routes.

mod checks;
mod routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "cannot start"))?;
    shared::http::serve(routes::router(state.clone()), &state.config.http).await
}
