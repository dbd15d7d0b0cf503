//! The per-route middleware: decides every tier that applies to a request
//! concurrently, answers 429 (or 503 for a fail-closed tier that cannot be decided),
//! refunds successful auth requests, and sets the rate-limit headers.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::MethodRouter,
};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::{Decision, Outcome, Tier, store::UNAVAILABLE_RETRY_AFTER};
use crate::{
    AppState,
    auth::{identity::Identity, unix_now, unix_now_ms},
    domain::Role,
    error::ApiError,
    http::context::RequestContext,
    metrics,
    store::{
        audit::{self, AuditEvent, EventType, Severity},
        brute_force::seconds_until,
    },
};

#[derive(Clone)]
struct Limits {
    state: Arc<AppState>,
    extra: &'static [Tier],
}

/// Limits one route: the global tier always, the write tier for POST/PUT/PATCH/DELETE,
/// and the route's `extra` tiers. The route's security reads on the line declaring it.
pub fn limited(
    route: MethodRouter<Arc<AppState>>,
    state: &Arc<AppState>,
    extra: &'static [Tier],
) -> MethodRouter<Arc<AppState>> {
    route.layer(axum::middleware::from_fn_with_state(
        Limits {
            state: state.clone(),
            extra,
        },
        enforce,
    ))
}

/// A string field of a JSON body, trimmed and lowercased: the `login` of the IP +
/// login-name key, the `email` of the per-address key. The body is read (it is already
/// in memory under Lambda) and put back for the handler.
async fn with_body_field(
    request: Request,
    max_bytes: usize,
    field: &str,
) -> Result<(Request, Option<String>), ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, max_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let value = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|body| {
            body[field]
                .as_str()
                .map(|value| value.trim().to_lowercase())
        })
        .map(|value| value.chars().take(254).collect());
    Ok((Request::from_parts(parts, Body::from(bytes)), value))
}

fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    let name = decision.tier.name();
    let window = decision.limit.window.as_secs();
    let values = [
        (
            "ratelimit-policy",
            format!("\"{name}\";q={};w={window}", decision.limit.max),
        ),
        (
            "ratelimit",
            format!(
                "\"{name}\";r={};t={}",
                decision.remaining, decision.reset_after
            ),
        ),
        ("x-ratelimit-limit", decision.limit.max.to_string()),
        ("x-ratelimit-remaining", decision.remaining.to_string()),
        ("x-ratelimit-reset", decision.reset_after.to_string()),
    ];
    for (header, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header, value);
        }
    }
}

/// More failures from one IP than the auth tier allows is a brute-force attempt: the
/// IP is blocked on the escalating ladder and the event is recorded as critical.
async fn block_ip(state: &AppState, context: &RequestContext, ip: &str) {
    let config = &state.limiter.config;
    let now_ms = unix_now_ms();
    match state
        .brute_force
        .block(ip, now_ms, &config.block_ladder, config.offence_window)
        .await
    {
        Ok(block) => {
            state.request_states.forget(ip);
            metrics::count("BruteForceDetected", &[]);
            audit::record(
                &state.db,
                context,
                AuditEvent::new(EventType::BruteForceDetected, Severity::Critical, None).details(
                    json!({
                        "offence": block.offence,
                        "blockedForSeconds": seconds_until(block.blocked_until_ms, now_ms),
                    }),
                ),
            )
            .await;
        }
        Err(error) => tracing::error!(error = %error, "could not block a brute-forcing IP"),
    }
}

async fn enforce(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let state = &limits.state;
    let config = &state.limiter.config;
    let context = request.extensions().get::<RequestContext>().cloned();
    let ip = context
        .as_ref()
        .and_then(|c| c.client_ip)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    // Limits are per account for a caller the identity layer accepted; an invalid
    // token is limited by IP and refused by the handler's extractor.
    let identity = request.extensions().get::<Identity>().cloned();
    let caller = identity.as_ref().and_then(Identity::principal).cloned();
    let account_or_ip = caller.as_ref().map_or_else(
        || format!("ip:{ip}"),
        |p| format!("account:{}", p.account_id),
    );
    let role = caller.as_ref().and_then(|p| Role::from_id(p.role_id));

    let field = if limits.extra.contains(&Tier::AuthLogin) {
        Some("login")
    } else if limits.extra.contains(&Tier::MailAddress) {
        Some("email")
    } else {
        None
    };
    let (request, field_value) = match field {
        Some(field) => {
            match with_body_field(request, state.config.http.max_body_bytes, field).await {
                Ok(parts) => parts,
                Err(error) => return error.into_response(),
            }
        }
        None => (request, None),
    };

    let mut checks = vec![(Tier::Global, format!("ip:{ip}"))];
    let writes = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    if writes.contains(request.method()) {
        checks.push((Tier::Write, account_or_ip.clone()));
    }
    for tier in limits.extra {
        match tier {
            Tier::Auth => checks.push((Tier::Auth, format!("ip:{ip}"))),
            Tier::AuthLogin => {
                if let Some(login) = &field_value {
                    checks.push((Tier::AuthLogin, format!("ip:{ip}#login:{login}")));
                }
            }
            Tier::MailAddress => {
                if let Some(address) = &field_value {
                    checks.push((Tier::MailAddress, format!("email:{address}")));
                }
            }
            Tier::Sensitive | Tier::PostCreate | Tier::Mail => {
                checks.push((*tier, account_or_ip.clone()))
            }
            Tier::Global | Tier::Write => {}
        }
    }

    // The block was read with the request's identity (one DynamoDB read); while
    // DynamoDB is down it is unknown, and the tiers' fail modes still apply.
    let now_ms = unix_now_ms();
    if let Some(until_ms) = identity.and_then(|identity| identity.blocked_until_ms) {
        return ApiError::IpBlocked {
            retry_after_seconds: seconds_until(until_ms, now_ms).max(1),
        }
        .into_response();
    }
    let now = unix_now();
    let outcomes = futures_util::future::join_all(checks.iter().map(|(tier, subject)| {
        state
            .limiter
            .hit(*tier, tier.limit(config, role), subject, now)
    }))
    .await;
    let mut decisions = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Outcome::Decided(decision) => decisions.push(decision),
            Outcome::Unavailable(tier) if tier.fails_closed(config) => {
                metrics::count(
                    "RateLimitUnavailable",
                    &[("Tier", tier.name()), ("Mode", "closed")],
                );
                return ApiError::ServiceUnavailable {
                    message: "Rate limiting is temporarily unavailable".into(),
                    retry_after_seconds: UNAVAILABLE_RETRY_AFTER.as_secs(),
                    details: None,
                }
                .into_response();
            }
            Outcome::Unavailable(tier) => {
                tracing::warn!(tier = tier.name(), "rate limit undecided; failing open");
                metrics::count(
                    "RateLimitUnavailable",
                    &[("Tier", tier.name()), ("Mode", "open")],
                );
            }
        }
    }

    if let Some(rejected) = decisions
        .iter()
        .filter(|d| !d.allowed)
        .max_by_key(|d| d.reset_after)
    {
        metrics::count("RateLimitRejected", &[("Tier", rejected.tier.name())]);
        // A refusal by either auth counter (per IP, or per IP and login name) is a
        // brute-force offence: the first refusal of each counter's window blocks the
        // IP on the ladder. Checking only the refusal reported to the client let one
        // name hammered from one address (the per-name counter, reported because it
        // resets last) go on forever without a block.
        let auth_refusals = decisions
            .iter()
            .filter(|d| !d.allowed && d.tier.is_auth() && d.pk() != rejected.pk());
        let mut offence = false;
        for refusal in auth_refusals {
            offence |= state.limiter.first_rejection(refusal).await;
        }
        let first = state.limiter.first_rejection(rejected).await;
        offence |= first && rejected.tier.is_auth();
        if let Some(context) = &context
            && offence
        {
            block_ip(state, context, &ip).await;
        }
        if let Some(context) = &context
            && first
        {
            audit::record(
                &state.db,
                context,
                AuditEvent::new(
                    EventType::RateLimitExceeded,
                    Severity::Warning,
                    caller.as_ref().map(|p| p.account_id),
                )
                .details(json!({
                    "tier": rejected.tier.name(),
                    "limit": rejected.limit.max,
                    "windowSeconds": rejected.limit.window.as_secs(),
                })),
            )
            .await;
        }
        let mut response = ApiError::RateLimited {
            tier: rejected.tier.name(),
            retry_after_seconds: rejected.reset_after.max(1),
        }
        .into_response();
        set_headers(response.headers_mut(), rejected);
        return response;
    }

    let mut response = next.run(request).await;
    if response.status().is_success() {
        let refunds = decisions.iter().filter(|d| d.tier.refunds_success());
        futures_util::future::join_all(refunds.map(|d| state.limiter.refund(d))).await;
    }
    if let Some(tightest) = decisions
        .iter()
        .min_by_key(|d| (d.remaining, u64::MAX - d.reset_after))
    {
        set_headers(response.headers_mut(), tightest);
    }
    response
}
