//! The auth function: builds state once per instance, then serves its routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "cannot start"))?;
    shared::http::serve(auth::router(state.clone()), &state.config.http).await
}
