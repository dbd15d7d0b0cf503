//! The health function's entry point; its routes are in `routes.rs`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_function_without_keys(health::router).await
}
