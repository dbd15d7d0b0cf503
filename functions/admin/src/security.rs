//! Blocked IPs: list them, lift a block.

use std::{net::IpAddr, sync::Arc};

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::{
        roles::{AdminOnly, SteppedUpAdmin},
        unix_now_ms,
    },
    http::context::RequestContext,
    store::audit::{self, AuditEvent, Severity},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

fn timestamp(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `{items: [{ip, blockedUntil, offence}], nextCursor: null}`: the set is small and
/// expires by itself, so it comes in one page.
pub async fn blocked_ips(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
) -> Result<Json<Value>, ApiError> {
    let blocks = state.brute_force.blocked(unix_now_ms()).await?;
    let items: Vec<Value> = blocks
        .iter()
        .map(|b| json!({"ip": b.ip, "blockedUntil": timestamp(b.blocked_until_ms / 1000), "offence": b.offence}))
        .collect();
    Ok(Json(json!({ "items": items, "nextCursor": null })))
}

pub async fn unblock_ip(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
    Path(ip): Path<String>,
) -> Result<StatusCode, ApiError> {
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| ApiError::validation("Not an IP address"))?;
    if !state.brute_force.unblock(&ip.to_string()).await? {
        return Err(ApiError::NotFound("That IP is not blocked".into()));
    }
    audit::record(
        state.db.writer(),
        &context,
        AuditEvent::new("IP_UNBLOCKED", Severity::Warning, Some(admin.account_id))
            .details(json!({ "ip": ip.to_string() })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
