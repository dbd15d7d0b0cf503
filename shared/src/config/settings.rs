//! What `GET /api/admin/system/config` shows: every setting in force, with its source,
//! credentials redacted; and the registry of what [`Env`] cannot learn by itself.

use serde::Serialize;

use super::{Config, ConfigError, Env};

/// How `GET /api/admin/system/config` shows a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// As it is.
    Plain,
    /// Never shown: only whether it is set.
    Secret,
    /// A connection URL: shown with its password (and password-like query parameters)
    /// replaced.
    Url,
}

/// What [`Env`] cannot learn by itself about a setting: a default the code computes
/// (lists), a variable read outside this module, or a value that must not be shown.
/// Everything else (every variable `Config::load` reads, with its default) is found
/// by recording what `Config::load` asks for, so a new setting needs no entry here
/// unless one of those applies.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub var: &'static str,
    pub default: Option<&'static str>,
    pub exposure: Exposure,
}

const fn setting(var: &'static str, default: Option<&'static str>, exposure: Exposure) -> Setting {
    Setting {
        var,
        default,
        exposure,
    }
}

pub const REGISTRY: &[Setting] = &[
    // Connection URLs carry the database password.
    setting("DATABASE_URL", None, Exposure::Url),
    setting("DATABASE_URL_REPLICA", None, Exposure::Url),
    setting("AWS_ENDPOINT_URL", None, Exposure::Url),
    // Defaults the code builds as lists.
    setting(
        "RATE_LIMIT_FAIL_CLOSED",
        Some("auth,sensitive"),
        Exposure::Plain,
    ),
    setting(
        "BRUTE_FORCE_BLOCK_LADDER_SECONDS",
        Some("60,600,3600,86400"),
        Exposure::Plain,
    ),
    // Read before any configuration loads (shared/src/metrics.rs, telemetry.rs: once per
    // process, by the first metric or log line), or by the AWS SDK.
    setting("METRICS_NAMESPACE", Some("BlueHarvest"), Exposure::Plain),
    setting("RUST_LOG", Some("info"), Exposure::Plain),
    setting("AWS_REGION", None, Exposure::Plain),
    // Read by the mailer (MailerConfig) and the outbox relay (OutboxRelayConfig), not
    // by Config::load.
    setting("MAIL_FROM", None, Exposure::Plain),
    setting("MAIL_LINK_BASE_URL", None, Exposure::Url),
    setting("MAIL_DELIVERIES_TABLE", None, Exposure::Plain),
    setting("MAIL_RETRY_BASE_SECONDS", Some("30"), Exposure::Plain),
    setting("MAIL_RETRY_MAX_SECONDS", Some("900"), Exposure::Plain),
    setting("AWS_ENDPOINT_URL_SESV2", None, Exposure::Url),
    setting("OUTBOX_RELAY_AFTER_SECONDS", Some("60"), Exposure::Plain),
];

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SettingSource)]
pub enum Source {
    Default,
    Environment,
}

/// One setting in force: its environment variable and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingInForce {
    pub name: &'static str,
    /// The value in force (the environment's, else the default), redacted where it
    /// could hold a credential; null when unset with no default.
    #[schema(required)]
    pub value: Option<String>,
    pub source: Source,
    #[schema(required)]
    pub default: Option<String>,
    /// True when something was taken out of `value`.
    pub redacted: bool,
}

/// Every setting the functions read, with the value in force and its source, sorted by
/// name; secrets never shown, URLs without their passwords. `lookup` is the
/// environment (`std::env::var`). Fails as the function's start would, on a
/// configuration that does not load.
pub fn settings(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<SettingInForce>, ConfigError> {
    let env = Env::new(lookup);
    Config::load(&env)?;
    crate::partitions::MaintenanceConfig::load(&env)?;
    let mut read = env.read.into_inner();
    for extra in REGISTRY {
        if !read.iter().any(|(name, _)| *name == extra.var) {
            read.push((extra.var, None));
        }
    }
    let mut settings: Vec<SettingInForce> = read
        .into_iter()
        .map(|(name, recorded)| {
            let registered = REGISTRY.iter().find(|s| s.var == name);
            let default = registered
                .and_then(|s| s.default.map(str::to_owned))
                .or(recorded);
            let exposure = registered.map_or_else(|| exposure_by_name(name), |s| s.exposure);
            let set = lookup(name).filter(|value| !value.trim().is_empty());
            let source = if set.is_some() {
                Source::Environment
            } else {
                Source::Default
            };
            let (value, redacted) = match set.or_else(|| default.clone()) {
                None => (None, false),
                Some(value) => {
                    let (shown, redacted) = redact(&value, exposure);
                    (Some(shown), redacted)
                }
            };
            SettingInForce {
                name,
                value,
                source,
                default,
                redacted,
            }
        })
        .collect();
    settings.sort_by_key(|s| s.name);
    Ok(settings)
}

/// A variable nobody registered is still kept secret when its name says it holds a
/// credential.
pub(super) fn exposure_by_name(name: &str) -> Exposure {
    let upper = name.to_ascii_uppercase();
    if upper.contains("PASSWORD")
        || upper.ends_with("_KEY")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_SECRET")
    {
        Exposure::Secret
    } else if upper.ends_with("_URL") {
        Exposure::Url
    } else {
        Exposure::Plain
    }
}

const REDACTED: &str = "***";

/// The value as shown, and whether anything was taken out. Any value with a
/// `scheme://user:password@` part loses the password whatever its exposure.
pub(super) fn redact(value: &str, exposure: Exposure) -> (String, bool) {
    match exposure {
        Exposure::Secret => (REDACTED.to_owned(), true),
        Exposure::Url | Exposure::Plain => {
            let (shown, redacted) = redact_url(value);
            (shown, redacted)
        }
    }
}

/// `postgres://app:pw@host/db?sslpassword=x` -> `postgres://app:***@host/db?sslpassword=***`.
fn redact_url(value: &str) -> (String, bool) {
    let Some(scheme_end) = value.find("://") else {
        return (value.to_owned(), false);
    };
    let (head, rest) = value.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut redacted = false;
    let mut shown = head.to_owned();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(REDACTED);
                    redacted = true;
                }
                None => shown.push_str(userinfo),
            }
            shown.push('@');
            shown.push_str(host);
        }
        None => shown.push_str(authority),
    }
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    shown.push_str(path);
    if let Some(query) = query {
        shown.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _))
                    if exposure_by_name(key) == Exposure::Secret
                        || key.eq_ignore_ascii_case("password") =>
                {
                    redacted = true;
                    format!("{key}={REDACTED}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push_str(&pairs.join("&"));
    }
    (shown, redacted)
}
