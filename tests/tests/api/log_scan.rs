//! No password, token, cookie, key, TOTP secret or unmasked email in the logs.
//!
//! `final_scan_of_this_runs_log` reads the whole log of a test run (`BH_LOG_FILE`, else
//! `$BH_STACK_DIR/watch.log`: every function's stdout under `cargo lambda watch`, with
//! the mail poller's `mail-poller.log` beside it) after
//! every other suite has run (the last step of `scripts/test.sh`), and looks for each
//! rule below plus the stack's own secret values read from Secrets Manager. It fails
//! on a missing or small log, so it cannot pass by scanning nothing.
//! `scanner_flags_planted_secrets` proves every rule on planted lines (no stack).

use std::{collections::BTreeSet, path::PathBuf};

use api_tests::{PASSWORD_HEAD, PASSWORD_TAIL, require_env};
use regex::Regex;
use serde_json::Value;
use shared::auth::cookies;

/// A full run logs about 6,000 lines, 2,700 of them access-log lines (2026-11); a
/// log below half that was not a full run.
const MIN_LINES: usize = 3_000;
const MIN_ACCESS_LINES: usize = 1_300;

/// Routes whose requests and responses carry passwords, tokens, cookies or TOTP
/// secrets: unless they were served, a clean scan proves little.
const MUST_HAVE_SERVED: [&str; 9] = [
    "/api/auth/signup",
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/password",
    "/api/auth/2fa/setup",
    "/api/auth/2fa/verify",
    "/api/auth/password/forgot",
    "/api/auth/password/reset",
    "/api/auth/email/verify",
];

/// Shown of an offending line, after its findings are redacted.
const EXCERPT_CHARS: usize = 400;

struct Rule {
    kind: &'static str,
    pattern: Regex,
}

struct Scanner {
    rules: Vec<Rule>,
    /// Any `local@domain.tld`; a finding unless the local part is masked.
    email: Regex,
    masked_local: Regex,
}

#[derive(Debug)]
struct Finding {
    line: usize,
    kinds: BTreeSet<&'static str>,
    excerpt: String,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern {pattern}: {e}"))
}

impl Scanner {
    /// The fixed rules, plus `secrets`: exact values that must never appear (the
    /// stack's keys, key PEM lines, database password).
    fn new(secrets: &[String]) -> Self {
        let mut rules = vec![
            (
                "JWT",
                r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}".to_owned(),
            ),
            (
                "session cookie",
                // A value, not a cleared cookie (`__Secure-bh_refresh=; Max-Age=0`).
                format!(
                    r#"\b(?:{}|{})=[^;\s"\\,]+"#,
                    cookies::REFRESH,
                    cookies::CSRF
                ),
            ),
            (
                "bearer token",
                r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}".to_owned(),
            ),
            (
                "authorization header",
                r#"(?i)authorization\\?"?\s*[:=]\s*\\?"?[A-Za-z0-9]"#.to_owned(),
            ),
            ("otpauth URI", r"(?i)otpauth://".to_owned()),
            (
                // A mailed link's token (`#reset=`/`#verify=` and 43 base64url chars).
                "mailed link token",
                r"\b(?:reset|verify)=[A-Za-z0-9_-]{43}(?:[^A-Za-z0-9_-]|$)".to_owned(),
            ),
            (
                // 20 random bytes in RFC 4648 base32, standing alone as a value.
                "TOTP secret",
                r"(?:^|[^A-Za-z0-9+/=])[A-Z2-7]{32}(?:[^A-Za-z0-9+/=]|$)".to_owned(),
            ),
            (
                // Not `secret`: a secret's name is logged under it (secrets.rs); a TOTP
                // secret is caught by its shape, key material by its value.
                "secret-bearing field",
                concat!(
                    r#"(?i)\\?"(?:password|currentPassword|newPassword|passwordHash|"#,
                    r"accessToken|refreshToken|mfaToken|csrfToken|token|code|backupCodes?|",
                    r"otpauthUrl|cookie|set-cookie|privateKeyPem|refreshKey|csrfKey|",
                    r#"cursorKey|totpKey|backupCodeKey)\\?"\s*:"#
                )
                .to_owned(),
            ),
            ("private key", r"PRIVATE KEY".to_owned()),
            ("password hash", r"\$argon2(?:id|i|d)\$".to_owned()),
            (
                "test password",
                format!(
                    "{} [0-9a-f]+ {}",
                    regex::escape(PASSWORD_HEAD),
                    regex::escape(PASSWORD_TAIL)
                ),
            ),
        ];
        let literals: Vec<String> = secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .map(|secret| regex::escape(secret))
            .collect();
        if !literals.is_empty() {
            rules.push(("stack secret", literals.join("|")));
        }
        Self {
            rules: rules
                .into_iter()
                .map(|(kind, pattern)| Rule {
                    kind,
                    pattern: regex(&pattern),
                })
                .collect(),
            email: regex(
                r"([A-Za-z0-9.!#$%&*+/?^_`{|}~-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
            ),
            masked_local: regex(r"^[^*]?\*\*\*$"),
        }
    }

    fn kinds(&self, line: &str) -> BTreeSet<&'static str> {
        let mut kinds: BTreeSet<&'static str> = self
            .rules
            .iter()
            .filter(|rule| rule.pattern.is_match(line))
            .map(|rule| rule.kind)
            .collect();
        if self.unmasked_emails(line).next().is_some() {
            kinds.insert("unmasked email");
        }
        kinds
    }

    fn unmasked_emails<'a>(&'a self, line: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.email.captures_iter(line).filter_map(|found| {
            let local = found.get(1)?.as_str();
            let whole = found.get(0)?.as_str();
            (!self.masked_local.is_match(local)).then_some(whole)
        })
    }

    /// The line with every finding replaced by its kind, cut short: a report must not
    /// leak what it reports.
    fn redacted(&self, line: &str) -> String {
        let mut line = line.to_owned();
        for rule in &self.rules {
            let label = format!("[{}]", rule.kind);
            line = rule
                .pattern
                .replace_all(&line, regex::NoExpand(&label))
                .into_owned();
        }
        let emails: Vec<String> = self.unmasked_emails(&line).map(str::to_owned).collect();
        for email in emails {
            line = line.replace(&email, "[unmasked email]");
        }
        let mut excerpt: String = line.chars().take(EXCERPT_CHARS).collect();
        if line.chars().count() > EXCERPT_CHARS {
            excerpt.push('…');
        }
        excerpt
    }

    fn scan(&self, text: &str) -> Vec<Finding> {
        text.lines()
            .enumerate()
            .filter_map(|(index, line)| {
                let kinds = self.kinds(line);
                (!kinds.is_empty()).then(|| Finding {
                    line: index + 1,
                    kinds,
                    excerpt: self.redacted(line),
                })
            })
            .collect()
    }
}

fn report(findings: &[Finding]) -> String {
    let mut report = format!("{} offending log lines:\n", findings.len());
    for finding in findings.iter().take(50) {
        let kinds: Vec<&str> = finding.kinds.iter().copied().collect();
        report.push_str(&format!(
            "  line {} [{}]: {}\n",
            finding.line,
            kinds.join(", "),
            finding.excerpt
        ));
    }
    if findings.len() > 50 {
        report.push_str(&format!("  … and {} more\n", findings.len() - 50));
    }
    report
}

fn log_path() -> PathBuf {
    match std::env::var("BH_LOG_FILE") {
        Ok(path) => PathBuf::from(path),
        Err(_) => PathBuf::from(require_env("BH_STACK_DIR")).join("watch.log"),
    }
}

/// Every value of every version of the stack's two key secrets (a rotation leaves
/// older ones behind), each PEM body line on its own, and the database password.
/// Also what `admin_infrastructure` checks `GET /api/admin/system/config` never shows.
pub(crate) async fn stack_secrets() -> Vec<String> {
    let mut secrets = Vec::new();
    let password = PathBuf::from(require_env("BH_STACK_DIR")).join("pg-password");
    let password = std::fs::read_to_string(&password)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", password.display()));
    secrets.push(password.trim().to_owned());

    let config = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let client = aws_sdk_secretsmanager::Client::new(&shared::state::aws_sdk_config(&config).await);
    for id in [
        require_env("SIGNING_KEYS_SECRET_ID"),
        require_env("APP_KEYS_SECRET_ID"),
    ] {
        let versions = client
            .list_secret_version_ids()
            .secret_id(&id)
            .include_deprecated(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot list the versions of {id}: {e:?}"));
        for version in versions.versions() {
            let value = client
                .get_secret_value()
                .secret_id(&id)
                .set_version_id(version.version_id().map(str::to_owned))
                .send()
                .await
                .unwrap_or_else(|e| panic!("cannot read {id}: {e:?}"));
            let json: Value =
                serde_json::from_str(value.secret_string().unwrap_or_default()).unwrap_or_default();
            secrets.extend(key_material(&json));
        }
    }
    secrets
}

/// The secret strings of a key secret: app keys are `{name: base64}`; a signing key
/// set holds PEMs, looked for line by line (a logged PEM may be cut or re-wrapped).
/// Key ids are public (the JWKS) and are left out.
fn key_material(secret: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(keys) = secret["keys"].as_array() {
        for pem in keys.iter().filter_map(|key| key["privateKeyPem"].as_str()) {
            found.extend(
                pem.lines()
                    .map(str::trim)
                    .filter(|line| !line.starts_with("-----") && line.len() >= 32)
                    .map(str::to_owned),
            );
        }
    } else if let Some(values) = secret.as_object() {
        found.extend(values.values().filter_map(Value::as_str).map(str::to_owned));
    }
    found
}

#[tokio::test]
async fn final_scan_of_this_runs_log() {
    let path = log_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the run's log {}: {e} (scripts/test.sh serves the functions with \
             their output there; or set BH_LOG_FILE)",
            path.display()
        )
    });
    // The second server of the run (the default limits: scripts/test.sh) logs beside it.
    let mut text = match std::fs::read_to_string(path.with_file_name("watch-defaults.log")) {
        Ok(more) if std::env::var("BH_LOG_FILE").is_err() => text + &more,
        _ => text,
    };
    // The mail poller's lines (scripts/mail.py: what it invoked, what failed).
    let poller = path.with_file_name("mail-poller.log");
    if let Ok(lines) = std::fs::read_to_string(&poller) {
        text.push('\n');
        text.push_str(&lines);
    }
    let lines = text.lines().count();
    let access: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request")
        .collect();
    let routes: BTreeSet<&str> = access
        .iter()
        .filter_map(|line| line["route"].as_str())
        .collect();
    assert!(
        lines >= MIN_LINES && access.len() >= MIN_ACCESS_LINES,
        "{} has {lines} lines, {} of them access-log lines: not the log of a full run \
         (at least {MIN_LINES} and {MIN_ACCESS_LINES} expected)",
        path.display(),
        access.len()
    );
    for route in MUST_HAVE_SERVED {
        assert!(
            routes.contains(route),
            "no access-log line for {route} in {}: the flows that carry secrets did not run",
            path.display()
        );
    }

    let secrets = stack_secrets().await;
    let scanner = Scanner::new(&secrets);
    let findings = scanner.scan(&text);
    println!(
        "log scan: {} ({lines} lines, {} access-log lines over {} routes), {} rules and \
         {} secret values of the stack: {} offending lines",
        path.display(),
        access.len(),
        routes.len(),
        scanner.rules.len() + 1,
        secrets.len(),
        findings.len()
    );
    assert!(findings.is_empty(), "{}", report(&findings));
}

#[test]
fn scanner_flags_planted_secrets() {
    let app_key = "q3J0c2VjcmV0LWFwcC1rZXktZm9yLXRoZS1zY2FuIQ==";
    let pem_line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
    let db_password = "Zx81QpLmT0aVw3sE";
    let secrets = [
        app_key.to_owned(),
        pem_line.to_owned(),
        db_password.to_owned(),
    ];
    let scanner = Scanner::new(&secrets);
    let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";
    let test_password = format!("{PASSWORD_HEAD} 4f0c2a {PASSWORD_TAIL}");
    let planted: Vec<(&str, String)> = vec![
        ("JWT", format!(r#"{{"message":"issued","t":"{jwt}"}}"#)),
        (
            "session cookie",
            "set-cookie: __Secure-bh_refresh=abc.def.ghi; HttpOnly".into(),
        ),
        (
            "session cookie",
            r#"{"header":"__Host-bh_csrf=Zm9vYmFy.YmF6"}"#.into(),
        ),
        ("bearer token", "got Bearer abcdefghijklmnop".into()),
        (
            "authorization header",
            r#"{"headers":"{\"authorization\": \"Basic dXNlcjpwYXNz\"}"}"#.into(),
        ),
        (
            "otpauth URI",
            "otpauth://totp/Blue%20Harvest:ada?secret=X&issuer=Blue%20Harvest".into(),
        ),
        (
            "TOTP secret",
            r#"{"message":"enrolled","s":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}"#.into(),
        ),
        (
            "secret-bearing field",
            r#"{"message":"body","password":"hunter2"}"#.into(),
        ),
        ("secret-bearing field", r#"{"code":"123456"}"#.into()),
        (
            "mailed link token",
            "http://127.0.0.1:3000/account.html#reset=KWEz4AxEIjvKYtXp4DeXAajZ0We9UNzamx8lKBZ5Czw"
                .into(),
        ),
        (
            "private key",
            r#"{"pem":"-----BEGIN PRIVATE KEY-----\nMIIE"}"#.into(),
        ),
        (
            "password hash",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA".into(),
        ),
        (
            "test password",
            format!(r#"{{"login":"ada","p":"{test_password}"}}"#),
        ),
        ("stack secret", format!(r#"{{"k":"{app_key}"}}"#)),
        (
            "stack secret",
            format!(r#"{{"pem":"...\n{pem_line}\n..."}}"#),
        ),
        (
            "stack secret",
            format!("postgres://blue_harvest:{db_password}@127.0.0.1:5432/db"),
        ),
        (
            "unmasked email",
            r#"{"email":"jane.doe@example.com"}"#.into(),
        ),
        ("unmasked email", "login=ja***e@example.com failed".into()),
    ];
    for (kind, line) in &planted {
        let kinds = scanner.kinds(line);
        assert!(
            kinds.contains(kind),
            "{kind} not flagged in {line}: {kinds:?}"
        );
    }

    let clean = [
        r#"{"timestamp":"2026-11-22T11:39:35.56Z","level":"INFO","message":"request","requestId":"0906977b-d9ff-489a-87c2-e291481cc8d2","traceId":"Root=1-6b02d473-7955dcae5ca9d1c8a9727549;Parent=549ab78c761fd5ea;Sampled=1","coldStart":false,"accountId":42,"clientIp":"127.0.0.1","route":"/api/auth/2fa/setup","method":"POST","path":"/api/auth/2fa/setup","status":200,"latencyMs":16.23}"#,
        r#"{"timestamp":"2026-11-22T11:39:36Z","level":"INFO","message":"account created","accountId":7,"email":"j***@example.com"}"#,
        r#"{"level":"INFO","message":"access token refused","error":"the token is invalid: ExpiredSignature"}"#,
        r#"{"message":"dropping a retired signing key","kid":"Hk3x9_2bq0Zr8mDwYv4n1LsT6uJfPaQeRcVgWiXoAy0"}"#,
        "www-authenticate: Bearer error=\"invalid_token\"; set-cookie: __Secure-bh_refresh=; Max-Age=0",
        r#"{"Function":"auth","Requests":1.0,"Route":"/api/auth/login","Status":"401","_aws":{"CloudWatchMetrics":[{"Dimensions":[["Route","Status"],["Function"]],"Metrics":[{"Name":"Requests","Unit":"Count"}],"Namespace":"BlueHarvest"}],"Timestamp":1795347575000}}"#,
        r#"{"level":"WARN","message":"critical security event","event_type":"AUTHORIZATION_ERROR","account_id":20}"#,
        r#"{"level":"WARN","message":"secret refresh failed; serving the cached copy","secret":"blue-harvest/local/app-keys","error":"dispatch failure"}"#,
    ];
    for line in clean {
        let kinds = scanner.kinds(line);
        assert!(kinds.is_empty(), "clean line flagged {kinds:?}: {line}");
    }

    // Over a whole log: each planted line found once, by number, and never quoted.
    let log: Vec<String> = clean
        .iter()
        .map(|line| (*line).to_owned())
        .chain(planted.iter().map(|(_, line)| line.clone()))
        .collect();
    let findings = scanner.scan(&log.join("\n"));
    let numbers: Vec<usize> = findings.iter().map(|finding| finding.line).collect();
    let expected: Vec<usize> = (clean.len() + 1..=log.len()).collect();
    assert_eq!(numbers, expected);
    let report = report(&findings);
    for secret in [jwt, app_key, pem_line, db_password, "jane.doe@example.com"] {
        assert!(
            !report.contains(secret),
            "the report quotes {secret}:\n{report}"
        );
    }
    assert!(!report.contains(&test_password), "{report}");
}
