//! Per-request context: request id, client IP, cold start; plus the one access-log line,
//! the request metrics and the X-Response-Time / X-Request-Id headers.

use std::{
    net::IpAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use http::HeaderValue;
use ipnet::IpNet;
use lambda_http::{RequestExt, request::RequestContext as LambdaContext};
use tracing::Instrument;

use crate::metrics::{self, Unit};

/// Known for every request by the time a handler runs (inserted as an extension).
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    /// As sent, cut to 512 characters (it is stored with sessions and audit events).
    pub user_agent: Option<String>,
    /// True for the first request this instance serves.
    pub cold_start: bool,
}

static FIRST_REQUEST: AtomicBool = AtomicBool::new(true);

/// What the access log learns while a request is handled: the route layer and the
/// extractors fill it in, `track` reads it once the response is ready. Shared through
/// the request's extensions, which inner layers cannot hand back outwards.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts(Arc<Facts>);

#[derive(Debug, Default)]
struct Facts {
    account_id: OnceLock<i64>,
    route: OnceLock<MatchedPath>,
}

impl RequestFacts {
    /// The authenticated caller. A request has one: the first account set stays.
    pub fn set_account_id(&self, account_id: i64) {
        let _ = self.0.account_id.set(account_id);
    }

    pub fn account_id(&self) -> Option<i64> {
        self.0.account_id.get().copied()
    }

    /// The route template that matched (`/api/posts/{id}`), never the raw path.
    pub fn route(&self) -> Option<&str> {
        self.0.route.get().map(MatchedPath::as_str)
    }
}

/// Records the authenticated account for the access log, if the request went through
/// `track` (a handler called on its own has no facts to fill).
pub fn identify(extensions: &http::Extensions, account_id: i64) {
    if let Some(facts) = extensions.get::<RequestFacts>() {
        facts.set_account_id(account_id);
    }
}

/// Route layer: copies the matched route template out for the access log and the
/// metrics (only the router knows it, and only inside the route).
pub async fn record_route(request: Request, next: Next) -> Response {
    let extensions = request.extensions();
    if let (Some(route), Some(facts)) = (
        extensions.get::<MatchedPath>(),
        extensions.get::<RequestFacts>(),
    ) {
        let _ = facts.0.route.set(route.clone());
    }
    next.run(request).await
}

/// The X-Ray trace id: the Lambda context's, else the `X-Amzn-Trace-Id` header (cut
/// to 256 characters: the header comes from the client).
fn trace_id(request: &Request) -> Option<String> {
    request
        .lambda_context_ref()
        .and_then(|context| context.xray_trace_id.clone())
        .or_else(|| {
            let header = request.headers().get("x-amzn-trace-id")?.to_str().ok()?;
            Some(header.chars().take(256).collect())
        })
}

impl RequestContext {
    fn of(request: &Request, trusted_proxies: &[IpNet]) -> Self {
        let (request_id, source_ip) = match request.request_context_ref() {
            Some(LambdaContext::ApiGatewayV2(ctx)) => (
                ctx.request_id.clone(),
                ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
            ),
            #[allow(unreachable_patterns)] // other event kinds are compiled out by features
            _ => (None, None),
        };
        let forwarded_for = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(512).collect());
        Self {
            request_id: request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            client_ip: client_ip(source_ip, forwarded_for, trusted_proxies),
            user_agent,
            cold_start: FIRST_REQUEST.swap(false, Ordering::Relaxed),
        }
    }
}

/// The caller's address: the connection's source, unless that source is a trusted
/// proxy, in which case the nearest untrusted hop of X-Forwarded-For. Hops are read
/// right to left because only the ones our proxies appended can be believed.
pub fn client_ip(
    source: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    match (source, forwarded_for) {
        (Some(peer), Some(chain)) if trusted(&peer) => {
            let mut nearest_untrusted = peer;
            for hop in chain.rsplit(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) if trusted(&ip) => nearest_untrusted = ip,
                    Ok(ip) => return Some(ip),
                    Err(_) => break,
                }
            }
            Some(nearest_untrusted)
        }
        (source, _) => source,
    }
}

/// Outermost middleware: builds the context, times the request, logs one JSON line
/// and emits the request metrics. The request runs inside a span holding its id, so
/// every line logged meanwhile carries `requestId` (see `telemetry`).
pub async fn track(
    State(trusted_proxies): State<Arc<[IpNet]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let _in_flight = super::in_flight::REQUESTS.enter();
    let started = Instant::now();
    let context = RequestContext::of(&request, &trusted_proxies);
    let facts = RequestFacts::default();
    let trace_id = trace_id(&request);
    request.extensions_mut().insert(context.clone());
    request.extensions_mut().insert(facts.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // ERROR level: a span is dropped by a filter below its level, and the request id
    // must reach every line whatever `RUST_LOG` says (a span's level is not printed).
    let span = tracing::error_span!(
        "request",
        requestId = %context.request_id,
        traceId = trace_id.as_deref(),
    );

    let mut response = next.run(request).instrument(span.clone()).await;

    // Milliseconds to two decimals: finer is noise for a network request.
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("{latency_ms:.2}ms")) {
        headers.insert("x-response-time", value);
    }
    if let Ok(value) = HeaderValue::from_str(&context.request_id) {
        headers.insert("x-request-id", value);
    }
    let status = response.status().as_u16();
    let route = facts.route().unwrap_or("unmatched");
    span.in_scope(|| {
        // requestId and traceId come from the span.
        tracing::info!(
            coldStart = context.cold_start,
            accountId = facts.account_id(),
            clientIp = context.client_ip.map(|ip| ip.to_string()),
            route,
            method = %method,
            path = %path,
            status,
            latencyMs = latency_ms,
            "request"
        );
    });
    let function = metrics::function_name();
    metrics::emit_many(
        &[
            ("Requests", Unit::Count, 1.0),
            ("Latency", Unit::Milliseconds, latency_ms),
        ],
        &[&["Route", "Status"], &["Function"]],
        &[
            ("Route", route),
            ("Status", &status.to_string()),
            ("Function", function),
        ],
    );
    if context.cold_start {
        metrics::count("ColdStart", &[("Function", function)]);
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::{Extension, Router, routing::get};
    use serde_json::Value;
    use tower::ServiceExt;
    use tracing_subscriber::EnvFilter;

    use super::*;
    use crate::{http::config::HttpConfig, telemetry::Captured};

    /// Serves `uri` through the whole shared stack and returns what was logged.
    async fn logged(uri: &str, trace_header: Option<&str>) -> Vec<Value> {
        let captured = Captured::default();
        let _log = tracing::subscriber::set_default(crate::telemetry::subscriber(
            EnvFilter::new("info"),
            captured.clone(),
        ));
        let routes = Router::new().route(
            "/api/things/{id}",
            get(|Extension(facts): Extension<RequestFacts>| async move {
                facts.set_account_id(42);
                tracing::warn!("inside the handler");
                "ok"
            }),
        );
        let config = HttpConfig {
            allowed_origins: Vec::new(),
            max_body_bytes: 1024,
            trusted_proxies: Vec::new(),
            request_timeout: std::time::Duration::from_secs(10),
            deadline_margin: std::time::Duration::from_millis(500),
        };
        let mut request = http::Request::builder().uri(uri);
        if let Some(trace) = trace_header {
            request = request.header("x-amzn-trace-id", trace);
        }
        let request = request
            .body(lambda_http::Body::Empty)
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = crate::http::app(routes, &config)
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        captured.lines()
    }

    #[tokio::test]
    async fn the_access_line_names_route_account_and_trace_and_shares_the_request_id() {
        let lines = logged("/api/things/7", Some("Root=1-abc-def")).await;
        let [inside, access] = lines.as_slice() else {
            panic!("two lines expected: {lines:?}");
        };
        assert_eq!(inside["message"], "inside the handler");
        assert_eq!(access["message"], "request");
        assert!(access["requestId"].is_string(), "{access}");
        assert_eq!(inside["requestId"], access["requestId"]);
        assert_eq!(inside["traceId"], "Root=1-abc-def");
        assert_eq!(access["route"], "/api/things/{id}");
        assert_eq!(access["path"], "/api/things/7");
        assert_eq!(access["accountId"], 42);
        assert_eq!(access["traceId"], "Root=1-abc-def");
        assert_eq!(access["status"], 200);
        assert_eq!(access["method"], "GET");
        assert!(access["latencyMs"].is_number() && access["coldStart"].is_boolean());
    }

    #[tokio::test]
    async fn an_unmatched_path_is_logged_as_such_without_account_or_trace() {
        let lines = logged("/api/nothing/here", None).await;
        let [access] = lines.as_slice() else {
            panic!("one line expected: {lines:?}");
        };
        assert_eq!(access["route"], "unmatched");
        assert_eq!(access["status"], 404);
        assert!(access.get("accountId").is_none() && access.get("traceId").is_none());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn forwarded_for_is_ignored_without_a_trusted_proxy() {
        let got = client_ip(Some(ip("203.0.113.9")), Some("1.2.3.4"), &[]);
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let got = client_ip(
            Some(ip("203.0.113.9")),
            Some("1.2.3.4"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn trusted_proxy_yields_nearest_untrusted_hop() {
        // The client forged the first entry; the proxy appended the real one.
        let got = client_ip(
            Some(ip("10.0.0.5")),
            Some("6.6.6.6, 198.51.100.7, 10.0.0.4"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, Some(ip("198.51.100.7")));
    }

    #[test]
    fn garbage_hop_stops_the_walk() {
        let got = client_ip(
            Some(ip("10.0.0.5")),
            Some("198.51.100.7, not-an-ip"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, Some(ip("10.0.0.5")));
    }
}
