//! Per-request context: request id, client IP, cold start; plus the one access-log line
//! and the X-Response-Time / X-Request-Id headers.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::HeaderValue;
use ipnet::IpNet;
use lambda_http::{RequestExt, request::RequestContext as LambdaContext};

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

/// Outermost middleware: builds the context, times the request, logs one JSON line.
pub async fn track(
    State(trusted_proxies): State<Arc<[IpNet]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let context = RequestContext::of(&request, &trusted_proxies);
    request.extensions_mut().insert(context.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let mut response = next.run(request).await;

    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("{latency_ms:.2}ms")) {
        headers.insert("x-response-time", value);
    }
    if let Ok(value) = HeaderValue::from_str(&context.request_id) {
        headers.insert("x-request-id", value);
    }
    tracing::info!(
        requestId = %context.request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latencyMs = (latency_ms * 100.0).round() / 100.0,
        coldStart = context.cold_start,
        clientIp = context.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
