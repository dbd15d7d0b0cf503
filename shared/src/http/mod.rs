//! The tower stack every HTTP function runs its router in, and the Lambda entry point.

pub mod config;
pub mod consistency;
pub mod context;
pub mod deadline;
pub mod envelope;
pub mod extract;
pub mod in_flight;

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::DefaultBodyLimit, response::Response};
use http::{HeaderName, HeaderValue, Method, header};
use tower::{ServiceBuilder, ServiceExt, util::BoxCloneSyncService};
use tower_http::{
    compression::{
        CompressionLayer, Predicate,
        predicate::{NotForContentType, SizeAbove},
    },
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    set_header::SetResponseHeaderLayer,
};

use config::HttpConfig;

/// A whole function as one service: what `lambda_http::run` drives, and what tests
/// call with real API Gateway events.
pub type HttpService = BoxCloneSyncService<lambda_http::Request, Response, Infallible>;

/// Responses at or below this size are sent uncompressed: gzip would not pay for itself.
const COMPRESS_ABOVE_BYTES: u64 = 1024;

/// Wraps a function's routes in the shared layers, outermost first: request context
/// and access log, security headers, CORS, compression, the error envelope, the
/// request deadline, body limit.
pub fn app(routes: Router, config: &HttpConfig) -> HttpService {
    let trusted_proxies: Arc<[ipnet::IpNet]> = config.trusted_proxies.clone().into();
    // The route template for the access log and metrics; a router without routes
    // (only a fallback) has none to record, and axum refuses the layer there.
    let routes = if routes.has_routes() {
        routes.route_layer(axum::middleware::from_fn(context::record_route))
    } else {
        routes
    };
    let router = routes
        // The tower-http limit below replaces axum's own (2 MB) default.
        .layer(DefaultBodyLimit::disable());
    let stack = ServiceBuilder::new()
        .map_request(|request: lambda_http::Request| request.map(Body::new))
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies,
            context::track,
        ))
        // API responses are never rendered as documents: the strictest policies apply.
        .layer(always("x-frame-options", "DENY"))
        .layer(always("x-content-type-options", "nosniff"))
        .layer(always("referrer-policy", "strict-origin-when-cross-origin"))
        .layer(always(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains; preload",
        ))
        .layer(always(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(always(
            "permissions-policy",
            "geolocation=(), microphone=(), camera=()",
        ))
        .layer(always("cross-origin-opener-policy", "same-origin"))
        .layer(always("cross-origin-resource-policy", "same-origin"))
        // Handlers may allow caching (the JWKS does); everything else holds tokens or
        // per-user data and must not be stored.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors(config))
        .layer(
            CompressionLayer::new().compress_when(
                SizeAbove::new(COMPRESS_ABOVE_BYTES)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
        )
        .layer(axum::middleware::from_fn(envelope::render_errors))
        .layer(axum::middleware::from_fn_with_state(
            deadline::Budget {
                request_timeout: config.request_timeout,
                margin: config.deadline_margin,
            },
            deadline::enforce,
        ))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .service(router);
    BoxCloneSyncService::new(stack.map_err(|never: Infallible| match never {}))
}

/// A function's routes with the layers that need the instance's state, inside the
/// shared stack: what Lambda runs, and what in-process tests call. Outermost first:
/// the read-your-writes scope and tokens, then who is calling (once, for every route).
pub fn function(routes: Router, state: &Arc<crate::AppState>) -> HttpService {
    let routes = routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::identity::identify,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            consistency::track,
        ));
    app(routes, &state.config.http)
}

/// The whole `main` of an HTTP function: logs, state built once per instance, the
/// shutdown hook, its keys fetched, then the function's routes under the Lambda
/// runtime (or `cargo lambda watch`). An instance that cannot read its keys stops with
/// one fatal line naming the secret (Lambda then retries the cold start), rather than
/// serve 503s.
///
/// Every function's `main` runs on tokio's current-thread runtime: an instance handles
/// one event at a time, and the multi-thread scheduler's wake-ups across threads cost
/// about 40 % of a posts list's CPU (docs/benchmarks.md, "Server cost").
pub async fn run_function(
    routes: impl FnOnce(Arc<crate::AppState>) -> Router,
) -> Result<(), lambda_http::Error> {
    let state = start().await?;
    if let Err(error) = state.secrets.warm(&state.config.resilience.retry).await {
        tracing::error!(error = %error, "fatal: cannot read a secret at cold start");
        return Err(error.into());
    }
    lambda_http::run(function(routes(state.clone()), &state)).await
}

/// As [`run_function`], but starts without its keys: for health, which must answer
/// (and report the secrets check failing) when Secrets Manager is down.
pub async fn run_function_without_keys(
    routes: impl FnOnce(Arc<crate::AppState>) -> Router,
) -> Result<(), lambda_http::Error> {
    let state = start().await?;
    lambda_http::run(function(routes(state.clone()), &state)).await
}

async fn start() -> Result<Arc<crate::AppState>, lambda_http::Error> {
    crate::telemetry::init();
    let state = crate::AppState::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "fatal: cannot start"))?;
    on_sigterm(state.clone()).await;
    Ok(state)
}

/// Lambda sends an instance SIGTERM before stopping it only when an extension is
/// registered; lambda_runtime registers a no-op one and then runs `shutdown` on the
/// signal (`cargo lambda watch` emulates both). Its registration panics if the
/// Extensions API refuses, so it runs in a task of its own: without the API the
/// function serves on, just without the hook. Must run before the runtime starts.
async fn on_sigterm(state: Arc<crate::AppState>) {
    let hook = move || shutdown(state);
    let registered = tokio::spawn(lambda_runtime::spawn_graceful_shutdown_handler(hook)).await;
    if registered.is_err() {
        tracing::warn!("no shutdown hook: the Lambda extension could not be registered");
    }
}

/// Of the 500 ms Lambda allows between SIGTERM and SIGKILL: requests still running
/// may finish, then the pools close.
const SHUTDOWN_DRAIN_BUDGET: Duration = Duration::from_millis(330);
const SHUTDOWN_CLOSE_BUDGET: Duration = Duration::from_millis(100);
/// Once the last request's response is made, the runtime still posts it to the
/// Runtime API; the process must not exit under it.
const SHUTDOWN_POST_GRACE: Duration = Duration::from_millis(20);

/// Runs on SIGTERM (the runtime exits the process when it returns).
async fn shutdown(state: Arc<crate::AppState>) {
    let in_flight = in_flight::REQUESTS.count();
    let drained = tokio::time::timeout(SHUTDOWN_DRAIN_BUDGET, in_flight::REQUESTS.drained())
        .await
        .is_ok();
    if drained {
        tokio::time::sleep(SHUTDOWN_POST_GRACE).await;
    }
    // Tells PostgreSQL (RDS Proxy) the sessions are over instead of leaving them to
    // time out; bounded, as a request still running would hold its connection.
    let closing = tokio::time::timeout(SHUTDOWN_CLOSE_BUDGET, state.db.close()).await;
    tracing::info!(
        requestsInFlight = in_flight,
        requestsDrained = drained,
        poolsClosed = closing.is_ok(),
        "shutting down"
    );
    // Lines are written whole, but a buffered tail must not be lost with the process.
    let _ = std::io::Write::flush(&mut std::io::stdout());
}

fn cors(config: &HttpConfig) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(config.allowed_origins.clone()))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static(consistency::HEADER),
        ])
        .expose_headers([
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static(consistency::HEADER),
        ])
        .max_age(Duration::from_secs(86_400))
}

/// A security header set on every response, errors included.
fn always(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}
