//! The auth function's entry point; its routes are in `lib.rs`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_function(auth::router).await
}
