//! The configuration as loaded from an environment: defaults, refusals, redaction,
//! and the README's list of variables.

use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::{
    settings::{exposure_by_name, redact},
    *,
};
use crate::{
    auth::config::Argon2Config, db::config::DatabaseEndpoints, mail::config::MailerConfig,
    ratelimit::config::BackoffPolicy,
};

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |var: &str| map.get(var).cloned();
    Config::load(&Env::new(&lookup))
}

const MINIMAL: &[(&str, &str)] = &[
    ("DATABASE_URL", "postgres://w@127.0.0.1/db"),
    ("DATABASE_URL_REPLICA", "postgres://r@127.0.0.1/db"),
    ("RATE_LIMIT_TABLE", "rl"),
    ("TOKEN_FAMILIES_TABLE", "tf"),
    ("SIGNING_KEYS_SECRET_ID", "sk"),
    ("APP_KEYS_SECRET_ID", "ak"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut vars = MINIMAL.to_vec();
    vars.extend_from_slice(extra);
    vars
}

#[test]
fn minimal_environment_gets_documented_defaults() -> Result<(), ConfigError> {
    let config = load(MINIMAL)?;
    assert_eq!(config.database.max_connections, 2);
    assert_eq!(config.database.statement_timeout, Duration::from_secs(5));
    assert_eq!(config.database.replica_max_lag, Duration::from_secs(30));
    assert_eq!(config.http.max_body_bytes, 1_048_576);
    assert!(config.http.allowed_origins.is_empty());
    assert_eq!(config.secrets.cache_ttl, Duration::from_secs(300));
    assert_eq!(config.auth.access_token_ttl, Duration::from_secs(900));
    assert_eq!(config.auth.refresh_reuse_interval, Duration::from_secs(10));
    assert_eq!(
        config.auth.argon2,
        Argon2Config {
            memory_kib: 65_536,
            iterations: 3,
            parallelism: 4,
            output_len: 32
        }
    );
    assert_eq!(config.auth.password.min_length, 12);
    let limits = &config.rate_limits;
    assert_eq!(
        (limits.global.max, limits.global.window),
        (100, Duration::from_secs(60))
    );
    assert_eq!(
        (limits.auth.max, limits.auth.window),
        (5, Duration::from_secs(900))
    );
    assert_eq!((limits.write.max, limits.sensitive.max), (20, 10));
    assert_eq!(limits.sensitive.window, Duration::from_secs(3600));
    assert_eq!(
        (
            limits.post_create_user.max,
            limits.post_create_moderator.max,
            limits.post_create_admin.max
        ),
        (10, 50, 100)
    );
    assert_eq!(limits.fail_closed, ["auth", "sensitive"]);
    assert_eq!(
        (limits.mail.max, limits.mail_address.max),
        (10, 3),
        "mail routes: 10 per account or IP, 3 per address, per hour"
    );
    let mail = &config.mail;
    assert_eq!(mail.queue_url, None);
    assert_eq!(
        (
            mail.password_reset_ttl.as_secs(),
            mail.email_link_ttl.as_secs()
        ),
        (1_800, 86_400)
    );
    assert_eq!(mail.forgot_response_time, Duration::from_millis(400));
    assert!(!mail.require_verified_email);
    let ladder: Vec<u64> = limits.block_ladder.iter().map(Duration::as_secs).collect();
    assert_eq!(ladder, [60, 600, 3600, 86_400]);
    assert_eq!(
        limits.login_backoff,
        BackoffPolicy {
            free: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(900),
            forget_after: Duration::from_secs(86_400),
        }
    );
    assert_eq!(
        limits.second_factor_backoff,
        BackoffPolicy {
            free: 10,
            base: Duration::from_secs(5),
            max: Duration::from_secs(900),
            forget_after: Duration::from_secs(900),
        }
    );
    match config.database.endpoints {
        DatabaseEndpoints::Urls { reader, .. } => {
            assert_eq!(reader.expose_secret(), "postgres://r@127.0.0.1/db")
        }
        other => panic!("expected URL endpoints, got {other:?}"),
    }
    Ok(())
}

#[test]
fn each_missing_required_variable_is_named() {
    for (var, _) in MINIMAL {
        let vars: Vec<_> = MINIMAL.iter().filter(|(k, _)| k != var).copied().collect();
        let err = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(var), "removing {var} gave {err:?}");
    }
}

#[test]
fn blank_value_counts_as_missing() {
    // `with` entries come later, so they override the minimal ones.
    let err = load(&with(&[("RATE_LIMIT_TABLE", "  ")])).err();
    assert_eq!(err, Some(ConfigError::Missing("RATE_LIMIT_TABLE")));
}

#[test]
fn malformed_numbers_name_the_variable() {
    let err = load(&with(&[("DB_MAX_CONNECTIONS", "two")])).err();
    assert!(matches!(
        err,
        Some(ConfigError::Invalid {
            var: "DB_MAX_CONNECTIONS",
            ..
        })
    ));
    let err = load(&with(&[("MAX_BODY_BYTES", "0")])).err();
    assert!(matches!(
        err,
        Some(ConfigError::Invalid {
            var: "MAX_BODY_BYTES",
            ..
        })
    ));
}

#[test]
fn leeway_above_thirty_seconds_is_refused() {
    let err = load(&with(&[("JWT_LEEWAY_SECONDS", "31")])).err();
    assert!(matches!(
        err,
        Some(ConfigError::Invalid {
            var: "JWT_LEEWAY_SECONDS",
            ..
        })
    ));
}

#[test]
fn origins_must_be_exact() {
    let config = load(&with(&[(
        "ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:3000",
    )]));
    assert_eq!(config.map(|c| c.http.allowed_origins.len()).ok(), Some(2));
    for bad in [
        "*",
        "https://*.example.com",
        "https://a.example/path",
        "ftp://x",
    ] {
        let err = load(&with(&[("ALLOWED_ORIGINS", bad)])).err();
        assert!(
            matches!(
                err,
                Some(ConfigError::Invalid {
                    var: "ALLOWED_ORIGINS",
                    ..
                })
            ),
            "{bad} was accepted"
        );
    }
}

#[test]
fn trusted_proxies_accept_addresses_and_blocks() {
    let config = load(&with(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")]));
    assert_eq!(config.map(|c| c.http.trusted_proxies.len()).ok(), Some(2));
    let err = load(&with(&[("TRUSTED_PROXIES", "not-an-ip")])).err();
    assert!(matches!(
        err,
        Some(ConfigError::Invalid {
            var: "TRUSTED_PROXIES",
            ..
        })
    ));
}

#[test]
fn proxy_endpoints_need_every_part() {
    let vars: Vec<_> = MINIMAL
        .iter()
        .filter(|(k, _)| !k.starts_with("DATABASE_URL"))
        .copied()
        .chain([("DB_WRITER_HOST", "proxy"), ("DB_READER_HOST", "proxy-ro")])
        .collect();
    assert_eq!(load(&vars).err(), Some(ConfigError::Missing("DB_NAME")));
}

#[test]
fn the_mailer_needs_its_sender_links_and_table() {
    let vars = |extra: &[(&'static str, &'static str)]| {
        let map: HashMap<String, String> = [
            ("MAIL_FROM", "Blue Harvest <no-reply@example.com>"),
            ("MAIL_LINK_BASE_URL", "https://app.example.com/account"),
            ("MAIL_DELIVERIES_TABLE", "deliveries"),
            ("MAIL_QUEUE_URL", "https://sqs.example/q"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let lookup = move |var: &str| map.get(var).cloned();
        MailerConfig::load(&Env::new(&lookup))
    };
    let config = vars(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (config.retry_base.as_secs(), config.retry_max.as_secs()),
        (30, 900)
    );
    for (var, bad) in [
        ("MAIL_FROM", "nobody"),
        ("MAIL_LINK_BASE_URL", "app.example.com/account"),
        ("MAIL_LINK_BASE_URL", "https://app.example.com/#x"),
        ("MAIL_RETRY_MAX_SECONDS", "50000"),
    ] {
        let err = vars(&[(var, bad)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(var) || err.contains("MAIL_RETRY"),
            "{var}={bad}: {err}"
        );
    }
}

#[test]
fn debug_output_never_shows_database_urls() -> Result<(), ConfigError> {
    let config = load(&with(&[(
        "DATABASE_URL",
        "postgres://app:hunter2-password@db/x",
    )]))?;
    assert!(!format!("{config:?}").contains("hunter2"));
    Ok(())
}

fn settings_of(vars: &[(&str, &str)]) -> Vec<SettingInForce> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings(&move |var: &str| map.get(var).cloned()).unwrap_or_else(|e| panic!("{e}"))
}

fn named<'a>(settings: &'a [SettingInForce], name: &str) -> &'a SettingInForce {
    settings
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} is not among the settings"))
}

#[test]
fn settings_show_values_with_their_source_and_no_password() {
    let settings = settings_of(&with(&[
        (
            "DATABASE_URL",
            "postgres://app:hunter2-password@db:5432/x?sslpassword=s3cret&sslmode=require",
        ),
        ("DB_MAX_CONNECTIONS", "4"),
    ]));
    let url = named(&settings, "DATABASE_URL");
    assert_eq!(
        url.value.as_deref(),
        Some("postgres://app:***@db:5432/x?sslpassword=***&sslmode=require")
    );
    assert!(url.redacted);
    assert_eq!(url.source, Source::Environment);
    let replica = named(&settings, "DATABASE_URL_REPLICA");
    assert_eq!(replica.value.as_deref(), Some("postgres://r@127.0.0.1/db"));
    assert!(!replica.redacted, "no password to take out");
    let pool = named(&settings, "DB_MAX_CONNECTIONS");
    assert_eq!(
        (pool.value.as_deref(), pool.source, pool.default.as_deref()),
        (Some("4"), Source::Environment, Some("2"))
    );
    let timeout = named(&settings, "DB_ACQUIRE_TIMEOUT_MS");
    assert_eq!(
        (timeout.value.as_deref(), timeout.source),
        (Some("2000"), Source::Default)
    );
    let ladder = named(&settings, "BRUTE_FORCE_BLOCK_LADDER_SECONDS");
    assert_eq!(ladder.value.as_deref(), Some("60,600,3600,86400"));
    let origins = named(&settings, "ALLOWED_ORIGINS");
    assert_eq!(
        (origins.value.as_deref(), origins.source),
        (None, Source::Default)
    );
    let text = serde_json::to_string(&settings).unwrap_or_default();
    assert!(
        !text.contains("hunter2") && !text.contains("s3cret"),
        "{text}"
    );
    let mut names: Vec<_> = settings.iter().map(|s| s.name).collect();
    names.dedup();
    assert_eq!(names.len(), settings.len(), "each setting once, sorted");
}

#[test]
fn credentials_are_hidden_whatever_the_variable() {
    assert_eq!(
        redact("https://u:p@h/x", Exposure::Plain),
        ("https://u:***@h/x".to_owned(), true)
    );
    assert_eq!(
        redact("anything", Exposure::Secret),
        ("***".to_owned(), true)
    );
    assert_eq!(
        redact("http://127.0.0.1:5000", Exposure::Url),
        ("http://127.0.0.1:5000".to_owned(), false)
    );
    assert_eq!(
        redact("https://a.example,https://b.example:8443", Exposure::Plain),
        ("https://a.example,https://b.example:8443".to_owned(), false)
    );
    for name in ["DB_PASSWORD", "SMTP_API_KEY", "SOME_TOKEN", "CLIENT_SECRET"] {
        assert_eq!(exposure_by_name(name), Exposure::Secret, "{name}");
    }
    for name in [
        "SIGNING_KEYS_SECRET_ID",
        "ACCESS_TOKEN_TTL_SECONDS",
        "RUST_LOG",
    ] {
        assert_eq!(exposure_by_name(name), Exposure::Plain, "{name}");
    }
}

/// The README's configuration table and what the functions read agree both ways:
/// an undocumented setting, or a documented one nothing reads, fails here.
#[test]
fn every_setting_is_documented_and_every_documented_one_is_read() {
    let readme = include_str!("../../../README.md");
    let table = readme
        .split("## Configuration")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap_or_default();
    let documented: std::collections::BTreeSet<&str> = table
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        // Whole names only, not `<SERVICE>` patterns or `_SUFFIX` fragments.
        .filter(|name| {
            name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    let proxy_form: Vec<_> = MINIMAL
        .iter()
        .filter(|(k, _)| !k.starts_with("DATABASE_URL"))
        .copied()
        .chain([
            ("DB_WRITER_HOST", "proxy"),
            ("DB_READER_HOST", "proxy-ro"),
            ("DB_NAME", "db"),
            ("DB_SECRET_ID", "arn:db"),
        ])
        .collect();
    let read: std::collections::BTreeSet<&str> = settings_of(MINIMAL)
        .iter()
        .chain(settings_of(&proxy_form).iter())
        .map(|s| s.name)
        .collect();
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let unread: Vec<_> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "README's Configuration table misses {undocumented:?}; it lists {unread:?}, which nothing reads"
    );
}
