//! Security views: audit events and their counts, blocked IPs.

use std::{net::IpAddr, sync::Arc};

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::{
    ApiError, AppState,
    auth::{
        caller::{AdminOnly, SteppedUpAdmin},
        unix_now_ms,
    },
    cursor::{self, Page},
    domain::Window,
    http::context::RequestContext,
    http::extract::ApiQuery,
    openapi::Errors,
    store::audit::{self, AuditEvent, EventType, Severity},
};
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::response::{AuditEntry, BlockedIp, SecurityStats};

/// A block's end, to the second (as blocks are kept).
fn timestamp(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlockedQuery {
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    cursor: Option<String>,
}

/// `{items: [{ip, blockedUntil, offence}], nextCursor}`: blocks in force, the latest to
/// end first, a Query of the `activeBlocks` index (no scan), paged with signed cursors
/// holding `(blockedUntilMs, ip)` of the last block of the page.
#[utoipa::path(get, path = "/api/admin/security/blocked-ips", tag = "admin", operation_id = "blockedIps",
    summary = "IPs blocked for brute force (admin), the latest to end first",
    params(BlockedQuery),
    responses((status = 200, description = "The blocked IPs", body = Page<BlockedIp>), Errors))]
pub async fn blocked_ips(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
    ApiQuery(query): ApiQuery<BlockedQuery>,
) -> Result<Json<Page<BlockedIp>>, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode::<(i64, String)>(&keys.cursor, c))
        .transpose()?;
    let limit = usize::try_from(cursor::page_size(query.limit)).unwrap_or(50);
    let (blocks, more) = state
        .brute_force
        .blocked(unix_now_ms(), limit, after.as_ref())
        .await?;
    let next = blocks
        .last()
        .filter(|_| more)
        .map(|b| cursor::encode(&keys.cursor, &(b.blocked_until_ms, &b.ip)));
    Ok(Json(Page::new(
        blocks.into_iter().map(|b| BlockedIp {
            blocked_until: timestamp(b.blocked_until_ms),
            ip: b.ip,
            offence: b.offence,
        }),
        next,
    )))
}

#[utoipa::path(delete, path = "/api/admin/security/blocked-ips/{ip}", tag = "admin", operation_id = "unblockIp",
    summary = "Unblock an IP (admin + step-up)",
    params(("ip" = String, Path, description = "The blocked address")),
    responses((status = 204, description = "Unblocked"), Errors))]
pub async fn unblock_ip(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    SteppedUpAdmin(admin): SteppedUpAdmin,
    Path(ip): Path<String>,
) -> Result<StatusCode, ApiError> {
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| ApiError::validation("Not an IP address"))?;
    // The block lives in DynamoDB, so no transaction spans both: the event is written
    // first and committed only once the block is gone, so an unblock is never
    // unrecorded (only a commit failing after the delete could leave one).
    let mut tx = state.db.begin().await?;
    audit::insert(
        &mut tx,
        &context,
        // Critical: an unblock alerts (template.yaml's SecurityEvents alarms).
        AuditEvent::new(
            EventType::IpUnblocked,
            Severity::Critical,
            Some(admin.account_id),
        )
        .details(json!({ "ip": ip.to_string() })),
    )
    .await?;
    if !state.brute_force.unblock(&ip.to_string()).await? {
        return Err(ApiError::NotFound("That IP is not blocked".into()));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// One event type (e.g. `LOGIN_FAILED`).
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// One severity (`info`, `warning`, `critical`).
    severity: Option<String>,
    /// One account's events.
    account_id: Option<i64>,
    /// One client address's events (an IP address, else a 400).
    ip: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    /// Events before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<OffsetDateTime>,
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    cursor: Option<String>,
}

/// `GET /api/admin/security/events`: newest first, filtered, cursor paged, from the
/// reader (a second of replica lag is fine for an audit view).
#[utoipa::path(get, path = "/api/admin/security/events", tag = "admin", operation_id = "securityEvents",
    summary = "Audit events, newest first (admin)",
    params(EventsQuery),
    responses((status = 200, description = "A page of audit events", body = Page<AuditEntry>), Errors))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let keys = state.secrets.app_keys().await?;
    let page = cursor::Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let ip = query
        .ip
        .as_deref()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| ApiError::validation("ip is not an IP address"))
        })
        .transpose()?
        .map(|ip| ip.to_string());
    let rows: Vec<AuditEntry> = state
        .db
        .read(|mut conn| {
            let (event_type, severity, ip) =
                (query.event_type.clone(), query.severity.clone(), ip.clone());
            async move {
                sqlx::query_as!(
                    AuditEntry,
                    "SELECT id, created_at, event_type, severity, account_id, host(ip) AS ip,
                            user_agent, request_id, details
                     FROM audit_log
                     WHERE ($1::text IS NULL OR event_type = $1)
                       AND ($2::text IS NULL OR severity = $2)
                       AND ($3::bigint IS NULL OR account_id = $3)
                       AND ($4::text IS NULL OR ip = $4::text::inet)
                       AND ($5::timestamptz IS NULL OR created_at >= $5)
                       AND ($6::timestamptz IS NULL OR created_at < $6)
                       AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8))
                     ORDER BY created_at DESC, id DESC
                     LIMIT $9",
                    event_type,
                    severity,
                    query.account_id,
                    ip,
                    query.since,
                    query.until,
                    page.after_time(),
                    page.after_id(),
                    page.fetch()
                )
                .fetch_all(&mut *conn)
                .await
            }
        })
        .await?;
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Digits and a unit (`s`, `m`, `h`, `d`), e.g. `30m`, `24h`, `7d`: 1 minute to 400
    /// days (anything else is a 400); 24h when absent.
    #[param(value_type = Option<String>, pattern = "^[0-9]+[smhd]$")]
    window: Option<Window>,
}

/// `GET /api/admin/security/stats?window=24h`: counts by type and by severity. The
/// window is a [`Window`]: digits and a unit, 1m to 400d, else 400.
#[utoipa::path(get, path = "/api/admin/security/stats", tag = "admin", operation_id = "securityStats",
    summary = "Audit event counts over a window (admin)",
    params(StatsQuery),
    responses((status = 200, description = "The counts", body = SecurityStats), Errors))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    _admin: AdminOnly,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<SecurityStats>, ApiError> {
    let window = query.window.unwrap_or(Window::DEFAULT);
    let seconds = window.duration().as_secs_f64();
    let rows = state
        .db
        .read(|mut conn| async move {
            sqlx::query!(
                r#"SELECT event_type, severity, count(*) AS "count!" FROM audit_log
                 WHERE created_at >= now() - make_interval(secs => $1) GROUP BY 1, 2"#,
                seconds
            )
            .fetch_all(&mut *conn)
            .await
        })
        .await?;
    let mut stats = SecurityStats {
        window: window.to_string(),
        ..SecurityStats::default()
    };
    for row in rows {
        stats.total += row.count;
        *stats.by_type.entry(row.event_type).or_default() += row.count;
        *stats.by_severity.entry(row.severity).or_default() += row.count;
    }
    Ok(Json(stats))
}
