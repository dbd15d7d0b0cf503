//! HTTP settings: CORS origins, body limit, trusted proxies, deadlines.

use std::{net::IpAddr, time::Duration};

use http::HeaderValue;
use ipnet::IpNet;

use crate::config::{ConfigError, Env};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Exact origins allowed by CORS; empty allows no cross-origin caller.
    pub allowed_origins: Vec<HeaderValue>,
    pub max_body_bytes: usize,
    /// Peers whose X-Forwarded-For is believed; nobody else's is.
    pub trusted_proxies: Vec<IpNet>,
    /// A request still running after this answers 503 (API Gateway gives up at 30 s).
    pub request_timeout: Duration,
    /// Kept back from the Lambda's remaining time, so the 503 is sent before the
    /// runtime kills the invocation.
    pub deadline_margin: Duration,
}

impl HttpConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let allowed_origins = env
            .list("ALLOWED_ORIGINS")
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<_, _>>()?;
        let trusted_proxies = env
            .list("TRUSTED_PROXIES")
            .iter()
            .map(|entry| parse_network(entry))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed_origins,
            max_body_bytes: env.positive("MAX_BODY_BYTES", 1024 * 1024)?,
            trusted_proxies,
            request_timeout: env.millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
            deadline_margin: env.millis_or("DEADLINE_MARGIN_MS", 500)?,
        })
    }
}

/// An origin is `scheme://host[:port]` exactly; a wildcard would defeat credentialed CORS.
fn parse_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        var: "ALLOWED_ORIGINS",
        reason: format!("{origin:?}: {reason}"),
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '*', '?', '#', ' ']) {
        return Err(invalid(
            "must be scheme://host[:port] with no path or wildcard",
        ));
    }
    HeaderValue::from_str(origin).map_err(|_| invalid("not a valid header value"))
}

fn parse_network(entry: &str) -> Result<IpNet, ConfigError> {
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            var: "TRUSTED_PROXIES",
            reason: format!("{entry:?} is not an IP address or CIDR block"),
        })
}
