//! The health function's entry point; its routes are in `routes.rs`.

mod checks;
mod routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_function(routes::router).await
}
