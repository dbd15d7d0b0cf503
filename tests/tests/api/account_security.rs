//! Attacks on an account by someone holding its access token or guessing its secrets
//! (issue #17), end to end through the second `cargo lambda watch` that
//! `scripts/test.sh` serves with the **default** limits, backoffs and block ladder and
//! several instances per function (`BH_DEFAULTS_API_URL`). That server believes
//! `X-Forwarded-For` from loopback (`TRUSTED_PROXIES=127.0.0.1/32`), so each attacker
//! and victim here has client addresses of its own, and no test's limits touch another's.

use std::time::{Duration, Instant};

use api_tests::{
    Admin, PASSWORD_HEAD, PASSWORD_TAIL, User, app, database, new_user, replica_caught_up,
    require_env, token_claims, totp_code,
};
use reqwest::Method;
use serde_json::{Value, json};

/// The API with the default limits.
fn base() -> String {
    require_env("BH_DEFAULTS_API_URL")
}

/// A client address no other test uses (the stack is fresh for every run).
fn fresh_ip() -> String {
    let id = uuid::Uuid::new_v4();
    let b = id.as_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
}

struct Reply {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// One request from `ip`, as a client behind our trusted proxy.
async fn call(
    method: Method,
    path: &str,
    ip: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app()
        .http_at(&base(), method, path)
        .header("x-forwarded-for", ip);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Reply {
        status,
        retry_after,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

/// A new account, signed up from its own address: `(user, access token, id)`.
async fn victim() -> (User, String, i64) {
    let user = new_user();
    let reply = call(
        Method::POST,
        "/api/auth/signup",
        &fresh_ip(),
        None,
        Some(json!({"username": user.username, "email": user.email, "password": user.password})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let token = reply.body["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = reply.body["account"]["id"].as_i64().unwrap_or_default();
    (user, token, id)
}

async fn login(login: &str, password: &str, ip: &str) -> Reply {
    call(
        Method::POST,
        "/api/auth/login",
        ip,
        None,
        Some(json!({"login": login, "password": password})),
    )
    .await
}

/// A password of the shape `new_user` makes (the log scan looks for it), not theirs.
fn wrong_password() -> String {
    format!("{PASSWORD_HEAD} 000000 {PASSWORD_TAIL}")
}

/// Audit rows of `event_type` for `account_id` (the writer: the test reads what the
/// API wrote, not what a replica has replayed yet).
async fn audited(event_type: &str, account_id: i64) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE event_type = $1 AND account_id = $2 ORDER BY id",
    )
    .bind(event_type)
    .bind(account_id)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Enables 2FA for the account (with its password, as re-authentication asks) and
/// returns the TOTP secret.
async fn enable_two_factor(token: &str, password: &str, ip: &str) -> Vec<u8> {
    let setup = call(
        Method::POST,
        "/api/auth/2fa/setup",
        ip,
        Some(token),
        Some(json!({})),
    )
    .await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret =
        totp_rs::Secret::try_from_base32(setup.body["secret"].as_str().unwrap_or_default())
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_else(|e| panic!("{e:?}"));
    let enabled = call(
        Method::POST,
        "/api/auth/2fa/enable",
        ip,
        Some(token),
        Some(json!({"code": totp_code(&secret, 0), "currentPassword": password})),
    )
    .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    secret
}

/// A 6-digit code that is none of the codes valid now (the current step ± 1).
fn wrong_code(secret: &[u8]) -> String {
    let valid: Vec<String> = (-2..=2).map(|step| totp_code(secret, step)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !valid.contains(code))
        .unwrap_or_default()
}

/// Item 1: with only the victim's access token, enabling 2FA, changing the login email
/// and deleting the account are refused (403 REAUTHENTICATION_REQUIRED), change
/// nothing, and are audited; the owner, who knows the password (and later a code),
/// does all three.
#[tokio::test]
async fn a_stolen_access_token_cannot_take_the_account_over() {
    let (user, stolen, id) = victim().await;
    let attacker = fresh_ip();
    let account = format!("/api/accounts/{id}");

    let setup = call(
        Method::POST,
        "/api/auth/2fa/setup",
        &attacker,
        Some(&stolen),
        Some(json!({})),
    )
    .await;
    assert_eq!(setup.status, 200, "a pending secret enables nothing");
    let secret =
        totp_rs::Secret::try_from_base32(setup.body["secret"].as_str().unwrap_or_default())
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_else(|e| panic!("{e:?}"));
    let attempts = [
        (
            Method::POST,
            "/api/auth/2fa/enable".to_owned(),
            json!({"code": totp_code(&secret, 0)}),
            "missing",
        ),
        (
            Method::POST,
            "/api/auth/2fa/enable".to_owned(),
            json!({"code": totp_code(&secret, 0), "currentPassword": wrong_password()}),
            "incorrect",
        ),
        (
            Method::PATCH,
            account.clone(),
            json!({"email": "attacker@example.net"}),
            "missing",
        ),
        (Method::DELETE, account.clone(), json!({}), "missing"),
    ];
    for (method, path, body, reason) in attempts {
        let reply = call(method.clone(), &path, &attacker, Some(&stolen), Some(body)).await;
        assert_eq!(
            (reply.status, reply.code()),
            (403, "REAUTHENTICATION_REQUIRED"),
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(
            reply.body["error"]["details"]["required"],
            "currentPassword"
        );
        assert_eq!(reply.body["error"]["details"]["reason"], reason);
    }
    // A DELETE with no body at all is refused the same way.
    let bare = call(Method::DELETE, &account, &attacker, Some(&stolen), None).await;
    assert_eq!(
        (bare.status, bare.code()),
        (403, "REAUTHENTICATION_REQUIRED")
    );

    let (email, two_factor, deleted): (String, bool, bool) =
        sqlx::query_as("SELECT email, two_factor_enabled, deleted FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (email.as_str(), two_factor, deleted),
        (user.email.as_str(), false, false),
        "nothing changed"
    );
    let refusals = audited("REAUTHENTICATION_FAILED", id).await;
    let operations: Vec<&str> = refusals
        .iter()
        .filter_map(|d| d["operation"].as_str())
        .collect();
    assert_eq!(
        operations,
        [
            "2fa-enable",
            "2fa-enable",
            "email-change",
            "account-delete",
            "account-delete"
        ],
        "every refusal audited"
    );
    assert!(refusals.iter().all(|d| d.get("currentPassword").is_none()));

    // The owner proves it knows the password: each change goes through.
    let owner = fresh_ip();
    let fresh_email = format!("{}@example.org", new_user().username);
    let changed = call(
        Method::PATCH,
        &account,
        &owner,
        Some(&stolen),
        Some(json!({"email": fresh_email, "currentPassword": user.password})),
    )
    .await;
    // Accepted: the new address is pending until the link mailed to it is used.
    assert_eq!(
        (changed.status, &changed.body["pendingEmail"]),
        (200, &json!(fresh_email))
    );
    let secret = enable_two_factor(&stolen, &user.password, &owner).await;
    // With 2FA on, the password is no longer enough: a current code is.
    let with_password = call(
        Method::DELETE,
        &account,
        &owner,
        Some(&stolen),
        Some(json!({"currentPassword": user.password})),
    )
    .await;
    assert_eq!(
        (
            with_password.status,
            &with_password.body["error"]["details"]["required"]
        ),
        (403, &json!("currentCode"))
    );
    let deleted = call(
        Method::DELETE,
        &account,
        &owner,
        Some(&stolen),
        Some(json!({"currentCode": totp_code(&secret, 1)})),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

/// Item 2: codes are counted per account, whatever MFA token carries them: 10 wrong
/// codes over two tokens, then the 11th on a third token is refused, and so is the
/// right code, until the backoff ends. The owner's sessions stay.
#[tokio::test]
async fn second_factor_guesses_are_limited_per_account_across_mfa_tokens() {
    let (user, owner_token, id) = victim().await;
    let owner = fresh_ip();
    let secret = enable_two_factor(&owner_token, &user.password, &owner).await;
    // Three challenges, as an attacker who knows the password gets them.
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let reply = login(&user.username, &user.password, &fresh_ip()).await;
        assert_eq!(reply.body["mfaRequired"], true, "{}", reply.body);
        tokens.push(
            reply.body["mfaToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let verify = |token: String, code: String| async move {
        // A new address per guess: the per-IP auth tier is not what is tested here.
        call(
            Method::POST,
            "/api/auth/2fa/verify",
            &fresh_ip(),
            None,
            Some(json!({"mfaToken": token, "code": code})),
        )
        .await
    };
    for guess in 0..10 {
        let reply = verify(tokens[guess / 5].clone(), wrong_code(&secret)).await;
        assert_eq!(reply.status, 401, "guess {}: {}", guess + 1, reply.body);
    }
    let eleventh = verify(tokens[2].clone(), wrong_code(&secret)).await;
    assert_eq!(
        (eleventh.status, &eleventh.body["error"]["details"]["tier"]),
        (429, &json!("mfa-backoff")),
        "{}",
        eleventh.body
    );
    let right = verify(tokens[2].clone(), totp_code(&secret, 1)).await;
    assert_eq!(
        right.status, 429,
        "the right code waits too: {}",
        right.body
    );
    let wait = right.retry_after.unwrap_or(0);
    assert!((1..=5).contains(&wait), "the first wait is 5 s: {wait}");

    let detected = audited("BRUTE_FORCE_DETECTED", id).await;
    assert_eq!(detected.len(), 1, "{detected:?}");
    assert_eq!(
        (&detected[0]["factor"], &detected[0]["failures"]),
        (&json!("otp"), &json!(10))
    );

    // The backoff ends: the right code signs in.
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let after = verify(tokens[2].clone(), totp_code(&secret, 1)).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(
        token_claims(after.body["accessToken"].as_str().unwrap_or_default())["amr"],
        json!(["pwd", "otp"])
    );

    // The owner was never signed out.
    let me = call(
        Method::GET,
        "/api/auth/me",
        &owner,
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
}

/// A signup with a bad body from `ip`: an auth-tier failure that fails fast.
async fn failed_signup(ip: &str) -> Reply {
    call(
        Method::POST,
        "/api/auth/signup",
        ip,
        None,
        Some(json!({"username": "x"})),
    )
    .await
}

/// A blocked `ip` is refused at once for any write, on every instance: writes (logins
/// and signups among them) read the block, strongly consistent. Reads are refused
/// within a second: an instance that found the address unblocked a moment ago
/// believes it for `NOT_BLOCKED_FOR` (1 s, which saves a DynamoDB read per anonymous
/// read), and no read is served in between without that rule saying so.
async fn assert_blocked(ip: &str) {
    let write = failed_signup(ip).await;
    assert_eq!(write.code(), "IP_BLOCKED", "{ip}: {}", write.body);
    let started = Instant::now();
    api_tests::eventually(
        &format!("reads from {ip} to be blocked"),
        Duration::from_secs(3),
        || async {
            let sent = started.elapsed();
            let reply = call(Method::GET, "/api/auth/me", ip, None, None).await;
            if reply.code() == "IP_BLOCKED" {
                return Some(());
            }
            // Served (a 401: no token) only while some instance may still believe what
            // it saw before the block: a request sent later than that is a leak.
            assert!(
                sent < Duration::from_secs(1),
                "{ip}: a read sent {sent:?} after the block was served: {}",
                reply.body
            );
            None
        },
    )
    .await;
}

/// Item 3: one login name hammered from one address blocks the address, as hammering
/// many names does, and the block is audited.
#[tokio::test]
async fn hammering_one_name_from_one_address_blocks_the_address() {
    let (user, _, _) = victim().await;
    let attacker = fresh_ip();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(login(&user.username, &wrong_password(), &attacker).await);
    }
    let codes: Vec<(u16, &str)> = statuses.iter().map(|r| (r.status, r.code())).collect();
    assert_eq!(
        codes,
        [
            (401, "AUTHENTICATION_ERROR"),
            (401, "AUTHENTICATION_ERROR"),
            (401, "AUTHENTICATION_ERROR"),
            (401, "AUTHENTICATION_ERROR"),
            (401, "AUTHENTICATION_ERROR"),
            (429, "RATE_LIMIT_EXCEEDED"),
        ]
    );
    // The 6th was the offence: the address is blocked at once, even for the right
    // password, whichever instance answers.
    let right = login(&user.username, &user.password, &attacker).await;
    assert_eq!(right.code(), "IP_BLOCKED", "{}", right.body);
    assert_blocked(&attacker).await;
    let events: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE event_type = 'BRUTE_FORCE_DETECTED' AND ip = $1::inet",
    )
    .bind(&attacker)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["offence"], &events[0]["blockedForSeconds"]),
        (&json!(1), &json!(60))
    );
}

/// Item 4: 40 wrong passwords for one account at once, from 40 addresses, check at
/// most the attempts the backoff allows: the 5 free ones, and one more per wait that
/// could have ended while they ran (1 s, then 2, 4, ...). Each checked password leaves
/// one FAILED_LOGIN_ATTEMPT row naming the login.
///
/// Exactness rests on DynamoDB's atomic conditional writes: exact on dynalite, the
/// stack's DynamoDB. moto (BH_LOCAL_DYNAMODB=moto) evaluates a condition and applies the
/// update without a lock (two first writes of a new item can both apply, each counting
/// 1), so under the parallel suites' load it can grant one more; like the rate
/// limiter's exactness tests this runs in the serial step.
#[tokio::test]
async fn serial_concurrent_wrong_passwords_check_at_most_the_allowed_number() {
    let (user, _, _) = victim().await;
    let started = Instant::now();
    let replies = futures_util::future::join_all(
        (0..40).map(|_| async { login(&user.username, &wrong_password(), &fresh_ip()).await }),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let checked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'FAILED_LOGIN_ATTEMPT' AND details->>'login' = $1",
    )
    .bind(&user.username)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = replies.iter().filter(|r| r.status == 429).count();
    let unauthorized = replies.iter().filter(|r| r.status == 401).count();
    assert_eq!(refused + unauthorized, 40, "only 401 and 429 answers");
    assert!(
        replies
            .iter()
            .filter(|r| r.status == 429)
            .all(|r| r.body["error"]["details"]["tier"] == "login-backoff")
    );
    // Extra attempts after the free 5 need waits of 1, 2, 4, ... s in between.
    let extra = (elapsed + 1.0).log2().floor() as i64;
    println!(
        "40 concurrent wrong logins: {checked} passwords checked in {elapsed:.1} s (allowed: 5 + {extra})"
    );
    assert_eq!(i64::try_from(unauthorized).unwrap_or(-1), checked);
    assert!(
        checked <= 5 + extra,
        "{checked} passwords checked in {elapsed:.1} s; at most {} may be",
        5 + extra
    );
}

/// Sends wrong attempts until `count` were checked (answered `checked`), waiting out
/// each backoff (429) as a patient attacker would. Seven checked failures leave a
/// 4 s wait (1 s after the 5th, 2 s after the 6th), far more than a request takes
/// even on a loaded machine, so what follows is judged inside it.
async fn checked_failures<F, Fut>(count: usize, checked: u16, attempt: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut done = 0;
    for _ in 0..4 * count {
        let reply = attempt(done).await;
        if reply.status == 429 {
            assert_eq!(
                reply.body["error"]["details"]["tier"], "login-backoff",
                "{}",
                reply.body
            );
            tokio::time::sleep(Duration::from_secs(reply.retry_after.unwrap_or(1))).await;
            continue;
        }
        assert_eq!(reply.status, checked, "{}", reply.body);
        done += 1;
        if done == count {
            return;
        }
    }
    panic!("only {done} of {count} attempts were checked");
}

/// Item 5: the username and the email of one account count together: seven failures
/// by either name, and the right password by either is refused.
#[tokio::test]
async fn username_and_email_share_one_backoff() {
    let (user, _, _) = victim().await;
    checked_failures(7, 401, |n| {
        let name = if n % 2 == 0 {
            user.username.clone()
        } else {
            user.email.clone()
        };
        async move { login(&name, &wrong_password(), &fresh_ip()).await }
    })
    .await;
    for name in [&user.email, &user.username] {
        let reply = login(name, &user.password, &fresh_ip()).await;
        assert_eq!(
            (reply.status, &reply.body["error"]["details"]["tier"]),
            (429, &json!("login-backoff")),
            "{name}: {}",
            reply.body
        );
    }
}

/// Item 5 too: the password-change route checks the current password on the same
/// per-account counter, so a stolen token cannot guess the password there instead.
#[tokio::test]
async fn the_password_change_route_is_no_side_door_for_guessing() {
    let (user, stolen, _) = victim().await;
    let change = |current: String| {
        let token = stolen.clone();
        async move {
            call(
                Method::POST,
                "/api/auth/password",
                &fresh_ip(),
                Some(&token),
                Some(json!({"currentPassword": current, "newPassword": "a brand new harvest moon 42"})),
            )
            .await
        }
    };
    checked_failures(7, 400, |_| change(wrong_password())).await;
    let reply = change(user.password.clone()).await;
    assert_eq!(
        (reply.status, &reply.body["error"]["details"]["tier"]),
        (429, &json!("login-backoff")),
        "{}",
        reply.body
    );
}

/// Item 6: active blocks are listed a page at a time with signed cursors.
#[tokio::test]
async fn blocked_ips_are_listed_page_by_page() {
    // Three addresses blocked the way attackers get blocked: six failed signups each
    // (bad bodies fail fast; the sixth is over the auth tier's 5).
    let ips: Vec<String> = (0..3).map(|_| fresh_ip()).collect();
    for ip in &ips {
        for _ in 0..6 {
            failed_signup(ip).await;
        }
        assert_blocked(ip).await;
    }
    let Admin { password_only, .. } = app().admin().await;
    let admin_ip = fresh_ip();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("?limit=1&cursor={cursor}"),
            None => "?limit=1".to_owned(),
        };
        let page = call(
            Method::GET,
            &format!("/api/admin/security/blocked-ips{query}"),
            &admin_ip,
            Some(&password_only.access_token),
            None,
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 1, "{}", page.body);
        seen.extend(items);
        pages += 1;
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 1000, "paging does not end");
    }
    for ip in &ips {
        assert_eq!(
            seen.iter().filter(|b| b["ip"] == ip.as_str()).count(),
            1,
            "{ip} once: {seen:?}"
        );
    }
    let until: Vec<&str> = seen
        .iter()
        .filter_map(|b| b["blockedUntil"].as_str())
        .collect();
    assert!(
        until.windows(2).all(|w| w[0] >= w[1]),
        "latest to end first: {until:?}"
    );
    let tampered = call(
        Method::GET,
        "/api/admin/security/blocked-ips?cursor=eyJ9.AAAA",
        &admin_ip,
        Some(&password_only.access_token),
        None,
    )
    .await;
    assert_eq!(
        (tampered.status, tampered.code()),
        (400, "VALIDATION_ERROR")
    );
}

/// Item 7: signup does not say whether the username or the email is taken; another
/// account's role is not shown to a non-admin; co-authors are the caller's own profiles.
#[tokio::test]
async fn less_is_leaked() {
    let (user, token, id) = victim().await;
    let other = new_user();
    let mut answers = Vec::new();
    for body in [
        json!({"username": user.username.to_uppercase(), "email": other.email, "password": other.password}),
        json!({"username": other.username, "email": user.email.to_uppercase(), "password": other.password}),
    ] {
        let reply = call(
            Method::POST,
            "/api/auth/signup",
            &fresh_ip(),
            None,
            Some(body),
        )
        .await;
        assert_eq!(reply.status, 409);
        answers.push((
            reply.body["error"]["message"].clone(),
            reply.body["error"]["details"].clone(),
        ));
    }
    assert_eq!(answers[0], answers[1], "one answer for either field");
    assert_eq!(answers[0].1, Value::Null);

    let (_, viewer_token, _) = victim().await;
    // The viewer reads an account another client wrote: through the replica, which
    // applies WAL 500 ms late, so wait for it to have the victim's row.
    replica_caught_up().await;
    let seen = call(
        Method::GET,
        &format!("/api/accounts/{id}"),
        &fresh_ip(),
        Some(&viewer_token),
        None,
    )
    .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(
        seen.body.get("role").is_none() && seen.body.get("roleId").is_none(),
        "{}",
        seen.body
    );

    let ip = fresh_ip();
    let profile = |token: String| {
        let ip = ip.clone();
        async move {
            let reply = call(
                Method::POST,
                "/api/profiles",
                &ip,
                Some(&token),
                Some(json!({"name": "Pen"})),
            )
            .await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.body["id"].as_i64().unwrap_or_default()
        }
    };
    let mine = profile(token.clone()).await;
    let my_second = profile(token.clone()).await;
    let theirs = profile(viewer_token.clone()).await;
    let post = |co_authors: Vec<i64>| {
        json!({"content": {"title": "Notes", "body": "<p>Enough text for a body.</p>"},
               "postTypeId": 1, "profileId": mine, "coAuthors": co_authors})
    };
    let refused = call(
        Method::POST,
        "/api/posts",
        &ip,
        Some(&token),
        Some(post(vec![theirs])),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "AUTHORIZATION_ERROR"),
        "{}",
        refused.body
    );
    let denied = audited("PERMISSION_DENIED", id).await;
    assert!(
        denied.iter().any(|d| d["action"] == "CoAuthor"),
        "{denied:?}"
    );
    let allowed = call(
        Method::POST,
        "/api/posts",
        &ip,
        Some(&token),
        Some(post(vec![my_second])),
    )
    .await;
    assert_eq!(allowed.status, 201, "{}", allowed.body);
}

/// Item 8: query parameters are parsed into bounded types: text that is no duration,
/// or one too long, is a 400 envelope, never a panic.
#[tokio::test]
async fn query_parameters_are_parsed_never_sliced() {
    let Admin { password_only, .. } = app().admin().await;
    let ip = fresh_ip();
    let stats = |query: &'static str| {
        let (ip, token) = (ip.clone(), password_only.access_token.clone());
        async move {
            call(
                Method::GET,
                &format!("/api/admin/security/stats{query}"),
                &ip,
                Some(&token),
                None,
            )
            .await
        }
    };
    for query in [
        "?window=%C3%A9",
        "?window=1%C3%A9",
        "?window=106751991167301d",
        "?window=99999999999999999999999999d",
        "?window=-1h",
        "?window=0m",
        "?window=401d",
    ] {
        let reply = stats(query).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{query}: {}",
            reply.body
        );
    }
    let reply = stats("?window=48h").await;
    assert_eq!(
        (reply.status, &reply.body["window"]),
        (200, &json!("2d")),
        "{}",
        reply.body
    );
    for query in [
        "?limit=%C3%A9",
        "?limit=99999999999999999999999",
        "?cursor=%C3%A9.%C3%A9",
    ] {
        let reply = call(
            Method::GET,
            &format!("/api/admin/security/events{query}"),
            &ip,
            Some(&password_only.access_token),
            None,
        )
        .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{query}: {}",
            reply.body
        );
    }
}
