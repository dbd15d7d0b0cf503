//! Every HTTP function's routes merged into one plain HTTP server, for the benchmarks
//! (`make bench`): the same state, shared tower stack and handlers as under Lambda, so
//! the difference from the `cargo lambda watch` path is the Lambda emulation's cost.
//! Not deployed. Address: `BH_MERGED_ADDR` (default 127.0.0.1:9070).

use std::{convert::Infallible, net::SocketAddr};

use axum::{Router, body::Body, extract::ConnectInfo, response::Response};
use lambda_http::{
    RequestExt, aws_lambda_events::apigw::ApiGatewayV2httpRequestContext, request::RequestContext,
};
use tower::{ServiceExt, service_fn};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env().await?;
    let routes = Router::new()
        .merge(health::router(state.clone()))
        .merge(auth::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(accounts::router(state.clone()))
        .merge(profiles::router(state.clone()))
        .merge(posts::router(state.clone()))
        .merge(comments::router(state.clone()))
        .merge(reports::router(state.clone()));
    let app = shared::http::function(routes, &state);
    let max_body = state.config.http.max_body_bytes;

    // API Gateway hands a function the client's address in the request context; here
    // it is the TCP peer. Bodies arrive whole under Lambda, so they are read whole here.
    let server = service_fn(move |request: http::Request<Body>| {
        let app = app.clone();
        async move {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string());
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, max_body.saturating_add(1)).await else {
                return Ok::<Response, Infallible>(too_large());
            };
            let mut context = ApiGatewayV2httpRequestContext::default();
            context.request_id = Some(uuid::Uuid::new_v4().to_string());
            context.http.source_ip = peer;
            let request = http::Request::from_parts(parts, lambda_http::Body::from(bytes.to_vec()))
                .with_request_context(RequestContext::ApiGatewayV2(context));
            app.oneshot(request).await
        }
    });
    let address: SocketAddr = std::env::var("BH_MERGED_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:9070".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("merged server on http://{address}");
    let router = Router::new().fallback_service(server);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

fn too_large() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    response
}
