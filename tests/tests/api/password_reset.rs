//! Password reset, end to end through cargo lambda watch with the mailer fed by the
//! stack's poller (`scripts/mail.py poll`) and the mail read back from SES (moto):
//! forgot → a mail with a link → reset → the old password, sessions and access
//! tokens refused; the link works once; an unknown address gets the same answer, in
//! the same time, and no mail; expired, forged, malformed and missing tokens, a
//! deleted account, oversized bodies, and one link used concurrently.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use api_tests::{
    Session, User, account_id, app, database, error_paths,
    mail::{RESET_SUBJECT, link_token, mails_to, wait_for_mail, wait_for_mails},
    new_user, status_json,
};
use serde_json::{Value, json};
use shared::{AppState, config::Config};

use crate::auth_in_process as support;

async fn reset(token: &str, new_password: &str) -> (u16, Value) {
    status_json(app().reset_password(token, new_password).await).await
}

const GENERIC: &str = "This link is invalid or has expired";

fn assert_generic(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{what}: {body}");
    assert_eq!(body["error"]["message"], GENERIC, "{what}: {body}");
}

/// A fresh user, signed up, with the token of a reset link mailed to it.
async fn user_with_reset_link() -> (User, Session, String) {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    assert_eq!(app.forgot_password(&user.email).await.status(), 202);
    let mail = wait_for_mail(&user.email, RESET_SUBJECT).await;
    (user, session, link_token(&mail, "reset"))
}

#[tokio::test]
async fn a_mailed_link_resets_the_password_once_and_ends_every_session() {
    let app = app();
    let user = new_user();
    let first = app.signup(&user).await;
    let second = Session::from_response(app.login(&user.username, &user.password).await).await;
    let response = app.forgot_password(&user.email.to_uppercase()).await;
    assert_eq!(response.status(), 202, "the address is matched in any case");
    let mail = wait_for_mail(&user.email, RESET_SUBJECT).await;
    let token = link_token(&mail, "reset");
    assert_eq!(token.len(), 43, "256 random bits, base64url: {}", mail.body);
    assert!(
        mail.body
            .contains("href=\"http://127.0.0.1:3000/account.html?api="),
        "a clickable link to the account page: {}",
        mail.body
    );

    // Stored only as a keyed hash: neither the token table nor the outbox holds it.
    let db = database().await;
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT row_to_json(t)::text FROM email_tokens t
         JOIN accounts a ON a.id = t.account_id WHERE a.username = $1
         UNION ALL SELECT body::text FROM mail_outbox",
    )
    .bind(&user.username)
    .fetch_all(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|row| !row.contains(&token)));

    // A password the policy refuses leaves the link working.
    let (status, body) = reset(&token, "password").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_paths(&body), ["newPassword"], "{body}");

    let new_password = new_user().password;
    let (status, body) = reset(&token, &new_password).await;
    assert_eq!(status, 204, "{body}");

    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        401
    );
    let session = Session::from_response(app.login(&user.email, &new_password).await).await;
    assert_eq!(app.me(&session.access_token).await.status(), 200);
    for old in [&first, &second] {
        assert_eq!(
            app.refresh(old).await.status(),
            401,
            "old session refreshed"
        );
        let me = app.me(&old.access_token).await;
        assert_eq!(me.status(), 401, "old access token accepted");
    }

    let (status, body) = reset(&token, &new_user().password).await;
    assert_generic(status, &body, "the link used again");

    let id = account_id(&first);
    let (events, revoked): (i64, Option<i64>) = sqlx::query_as(
        "SELECT count(*), max((details->>'sessionsRevoked')::bigint) FROM audit_log
         WHERE event_type = 'PASSWORD_RESET' AND account_id = $1",
    )
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((events, revoked), (1, Some(2)));
    let verified: bool =
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(verified, "the reset link proved the address");
}

#[tokio::test]
async fn only_the_latest_link_works() {
    let (user, _, first) = user_with_reset_link().await;
    assert_eq!(app().forgot_password(&user.email).await.status(), 202);
    let mails = wait_for_mails(&user.email, RESET_SUBJECT, 2).await;
    let second = link_token(&mails[1], "reset");
    assert_ne!(first, second);
    let (status, body) = reset(&first, &new_user().password).await;
    assert_generic(status, &body, "the older link");
    assert_eq!(reset(&second, &new_user().password).await.0, 204);
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    let nobody = new_user().email;
    let known = app.forgot_password(&user.email).await;
    let unknown = app.forgot_password(&nobody).await;
    assert_eq!(
        (known.status().as_u16(), unknown.status().as_u16()),
        (202, 202)
    );
    // Same headers (names; values that are per request aside) and the same body. The
    // rate-limit headers name the client's tightest tier, which here turns on the
    // traffic every other suite sends from 127.0.0.1 (a global window can roll over
    // between the two requests), not on the address asked for.
    let varying = [
        "date",
        "x-request-id",
        "x-response-time",
        "ratelimit",
        "ratelimit-policy",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ];
    let names = |response: &reqwest::Response| -> BTreeSet<String> {
        response
            .headers()
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| !varying.contains(&name.as_str()))
            .collect()
    };
    assert_eq!(names(&known), names(&unknown));
    for name in names(&known) {
        if name != "content-length" {
            assert_eq!(
                known.headers().get_all(&name).iter().collect::<Vec<_>>(),
                unknown.headers().get_all(&name).iter().collect::<Vec<_>>(),
                "{name}"
            );
        }
    }
    assert!(
        known.headers().get("x-consistency-token").is_none(),
        "no read-your-writes token: it would tell a write apart"
    );
    let (known, unknown): (Value, Value) = (
        known.json().await.unwrap_or(Value::Null),
        unknown.json().await.unwrap_or(Value::Null),
    );
    assert_eq!(known, unknown);

    // Nothing was written for the unknown address: no token, no mail job.
    let db = database().await;
    let jobs: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM email_tokens WHERE email = $1)
              + (SELECT count(*) FROM mail_outbox WHERE body->>'to' = $1)",
    )
    .bind(&nobody)
    .fetch_one(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs, 0);
    // The known address's mail, relayed after the unknown request was answered, has
    // arrived: had the unknown one queued a mail, it would have been sent before it.
    wait_for_mail(&user.email, RESET_SUBJECT).await;
    assert!(mails_to(&nobody, "").await.is_empty());
}

/// Server-side duration (`X-Response-Time`) of one forgot request, in ms.
async fn forgot_ms(email: &str) -> f64 {
    let response = app().forgot_password(email).await;
    assert_eq!(response.status(), 202);
    response
        .headers()
        .get("x-response-time")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_end_matches("ms").parse().ok())
        .unwrap_or_else(|| panic!("no X-Response-Time"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Serial (one test at a time, so other suites' load does not fall on one side): 30
/// requests for an address with an account and 30 for one without, interleaved.
#[tokio::test]
async fn serial_forgot_takes_the_same_time_whether_or_not_the_address_has_an_account() {
    const TRIES: usize = 30;
    let floor = Config::from_env()
        .unwrap_or_else(|e| panic!("{e}"))
        .mail
        .forgot_response_time
        .as_secs_f64()
        * 1000.0;
    let user = new_user();
    app().signup(&user).await;
    let nobody = new_user().email;
    // Warm both paths (connections, cached keys) before measuring.
    forgot_ms(&user.email).await;
    forgot_ms(&nobody).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..TRIES {
        if i % 2 == 0 {
            known.push(forgot_ms(&user.email).await);
            unknown.push(forgot_ms(&nobody).await);
        } else {
            unknown.push(forgot_ms(&nobody).await);
            known.push(forgot_ms(&user.email).await);
        }
    }
    let fastest = known
        .iter()
        .chain(&unknown)
        .copied()
        .fold(f64::MAX, f64::min);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mean_known, mean_unknown) = (mean(&known), mean(&unknown));
    let (median_known, median_unknown) = (median(&mut known), median(&mut unknown));
    println!(
        "forgot over {TRIES} tries each (server-side ms): known median {median_known:.1} mean \
         {mean_known:.1}; unknown median {median_unknown:.1} mean {mean_unknown:.1}; \
         fastest {fastest:.1}; floor {floor:.0}"
    );
    assert!(
        fastest >= floor,
        "an answer came before the floor: {fastest} ms"
    );
    // Within noise: the medians differ by less than 5 % of the floor (20 ms by default);
    // the work of a known address (a transaction and an SQS send) alone is more.
    let noise = (floor * 0.05).max(10.0);
    assert!(
        (median_known - median_unknown).abs() < noise,
        "medians {median_known:.1} ms (known) and {median_unknown:.1} ms (unknown) differ by more than {noise} ms"
    );
    // Every known request did send a link (so the known path ran each time).
    wait_for_mails(&user.email, RESET_SUBJECT, TRIES + 1).await;
}

#[tokio::test]
async fn concurrent_resets_with_one_link_let_exactly_one_through() {
    let (user, _, token) = user_with_reset_link().await;
    let attempts = (0..8).map(|_| {
        let token = token.clone();
        async move { reset(&token, &new_user().password).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    for (status, body) in results.iter().filter(|(status, _)| *status != 204) {
        assert_generic(*status, body, "a concurrent use");
    }
    let db = database().await;
    let resets: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log l JOIN accounts a ON a.id = l.account_id
         WHERE a.username = $1 AND l.event_type = 'PASSWORD_RESET'",
    )
    .bind(&user.username)
    .fetch_one(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resets, 1);
}

#[tokio::test]
async fn a_link_of_a_deleted_account_is_refused() {
    let (user, session, token) = user_with_reset_link().await;
    let id = account_id(&session);
    // Deleting an account re-authenticates with its password.
    let deleted = app()
        .delete_account_with(
            id,
            &session.access_token,
            json!({ "currentPassword": user.password }),
        )
        .await;
    assert_eq!(deleted.status(), 204);
    let (status, body) = reset(&token, &new_user().password).await;
    assert_generic(status, &body, "a deleted account's link");
}

#[tokio::test]
async fn forged_malformed_and_missing_tokens_are_refused() {
    let password = new_user().password;
    // Well formed, never issued: the same answer as a used or expired one.
    let forged = "A".repeat(43);
    for token in [forged.as_str(), "not-a-token", "", "A\u{0}B"] {
        let (status, body) = reset(token, &password).await;
        assert_generic(status, &body, token);
    }
    let app = app();
    let (status, body) = status_json(
        app.reset_password_with(json!({ "newPassword": password }))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["details"]["errors"][0]["message"].to_string();
    assert!(message.contains("missing field `token`"), "{body}");
    let (status, body) = status_json(
        app.reset_password_with(json!({ "token": 42, "newPassword": password }))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    for body in [
        json!({ "email": "not an address" }),
        json!({ "email": "a@example.com", "extra": 1 }),
        json!({}),
    ] {
        let (status, reply) = status_json(app.forgot_password_with(body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {reply}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_any_work() {
    let huge = "x".repeat(1_100_000);
    for path in [
        "/api/auth/password/forgot",
        "/api/auth/password/reset",
        "/api/auth/email/verify",
    ] {
        let response = app()
            .post(path)
            .header("content-type", "application/json")
            .body(format!(r#"{{"email": "{huge}", "token": "{huge}"}}"#))
            .send()
            .await;
        let (status, body) = status_json(response).await;
        assert_eq!(status, 413, "{path}: {body}");
        assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE", "{path}");
    }
}

/// The auth function in-process with a one-second link lifetime (the served API keeps
/// the default), sending through the real queue to the served mailer.
async fn short_lived_links() -> Arc<AppState> {
    support::state(&[
        ("PASSWORD_RESET_TTL_SECONDS", "1"),
        ("PASSWORD_FORGOT_RESPONSE_MS", "0"),
    ])
    .await
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let state = short_lived_links().await;
    let user = new_user();
    app().signup(&user).await;
    // From the event template's client address (the served API's limits are raised,
    // and so are this process's: the same environment).
    let (status, body) = support::post(
        &state,
        "/api/auth/password/forgot",
        json!({ "email": user.email }),
        "203.0.113.10",
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let mail = wait_for_mail(&user.email, RESET_SUBJECT).await;
    assert!(mail.body.contains("within 1 minute"), "{}", mail.body);
    let token = link_token(&mail, "reset");
    // The link must outlive its one-second lifetime: waiting for the clock is the
    // behaviour under test, not a race being hidden.
    let expires_at: time::OffsetDateTime = sqlx::query_scalar(
        "SELECT max(t.expires_at) FROM email_tokens t JOIN accounts a ON a.id = t.account_id
         WHERE a.username = $1 AND t.purpose = 'password_reset'",
    )
    .bind(&user.username)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let left = expires_at - time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::try_from(left).unwrap_or_default() + Duration::from_millis(200))
        .await;
    let (status, body) = reset(&token, &new_user().password).await;
    assert_generic(status, &body, "an expired link");
    assert_eq!(
        app().login(&user.username, &user.password).await.status(),
        200
    );
}
