//! Email verification, email change by link, the welcome mail and the transactional
//! outbox, end to end through cargo lambda watch with the mailer fed by the stack's
//! poller and the mail read back from SES (moto).

use api_tests::{
    Session, account_id, app, database,
    mail::{
        CHANGE_NOTICE_SUBJECT, CHANGE_SUBJECT, VERIFY_SUBJECT, WELCOME_SUBJECT, link_token,
        mails_to, wait_for_mail, wait_for_mails,
    },
    new_user, status_json, token_claims,
};
use serde_json::{Value, json};
use shared::{
    domain::Email,
    mail::{Job, Mail},
};

async fn verify(token: &str) -> (u16, Value) {
    status_json(app().verify_email(token).await).await
}

async fn me(session: &Session) -> Value {
    let (status, body) = status_json(app().me(&session.access_token).await).await;
    assert_eq!(status, 200, "{body}");
    body["account"].clone()
}

#[tokio::test]
async fn signup_mails_a_verification_link_and_verifying_sends_a_welcome() {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    assert_eq!(session.body["account"]["emailVerified"], false);
    assert_eq!(token_claims(&session.access_token)["email_verified"], false);

    let mail = wait_for_mail(&user.email, VERIFY_SUBJECT).await;
    let (status, body) = verify(&link_token(&mail, "verify")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["email"].as_str(),
            body["emailVerified"].as_bool(),
            body["changed"].as_bool()
        ),
        (Some(user.email.as_str()), Some(true), Some(false))
    );
    assert_eq!(me(&session).await["emailVerified"], true);
    // The claim comes with the next token.
    let refreshed = Session::from_response(app.refresh(&session).await).await;
    assert_eq!(
        token_claims(&refreshed.access_token)["email_verified"],
        true
    );

    let welcome = wait_for_mail(&user.email, WELCOME_SUBJECT).await;
    assert!(welcome.body.contains(&user.username), "{}", welcome.body);

    let (status, body) = verify(&link_token(&mail, "verify")).await;
    assert_eq!(status, 400, "the link used again: {body}");
    let (status, body) = status_json(app.resend_verification(&refreshed.access_token).await).await;
    assert_eq!(status, 409, "already verified: {body}");

    let db = database().await;
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM audit_log WHERE account_id = $1 AND event_type = 'EMAIL_VERIFIED'",
    )
    .bind(account_id(&session))
    .fetch_all(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events, ["EMAIL_VERIFIED"]);
    // One welcome, though the address was verified once and the link tried twice.
    assert_eq!(mails_to(&user.email, WELCOME_SUBJECT).await.len(), 1);
}

#[tokio::test]
async fn resend_sends_a_new_link_and_retires_the_old_one() {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    let first = link_token(&wait_for_mail(&user.email, VERIFY_SUBJECT).await, "verify");
    let response = app.resend_verification(&session.access_token).await;
    assert_eq!(response.status(), 202);
    let mails = wait_for_mails(&user.email, VERIFY_SUBJECT, 2).await;
    let second = link_token(&mails[1], "verify");
    assert_ne!(first, second);
    assert_eq!(verify(&first).await.0, 400, "the retired link");
    assert_eq!(verify(&second).await.0, 200);
    let anonymous = app
        .post_json("/api/auth/email/verify/resend", json!({}))
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn an_email_change_takes_effect_only_through_the_link_to_the_new_address() {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    let id = account_id(&session);
    let new_email = new_user().email;
    // An email change re-authenticates with the current password.
    let (status, body) = status_json(
        app.patch_account(
            id,
            &session.access_token,
            json!({ "email": new_email.to_uppercase(), "firstName": "Ada",
                    "currentPassword": user.password }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["email"],
        user.email.as_str(),
        "not changed yet: {body}"
    );
    assert_eq!(body["pendingEmail"], new_email.as_str());
    assert_eq!(
        body["firstName"], "Ada",
        "the rest of the change applies at once"
    );
    assert_eq!(me(&session).await["email"], user.email.as_str());

    let notice = wait_for_mail(&user.email, CHANGE_NOTICE_SUBJECT).await;
    let masked = Email::parse(&new_email)
        .map(|e| e.masked())
        .unwrap_or_default();
    assert!(
        notice.body.contains(&masked),
        "the new address, masked: {}",
        notice.body
    );
    assert!(
        !notice.body.contains(&new_email),
        "never in full: {}",
        notice.body
    );
    assert!(
        !notice.body.contains("#verify="),
        "no link to the old address"
    );

    let link = wait_for_mail(&new_email, CHANGE_SUBJECT).await;
    assert_eq!(app.login(&new_email, &user.password).await.status(), 401);

    let (status, body) = verify(&link_token(&link, "verify")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["email"].as_str(), body["changed"].as_bool()),
        (Some(new_email.as_str()), Some(true))
    );
    let account = me(&session).await;
    assert_eq!(
        (
            account["email"].as_str(),
            account["emailVerified"].as_bool()
        ),
        (Some(new_email.as_str()), Some(true))
    );
    assert_eq!(app.login(&new_email, &user.password).await.status(), 200);
    assert_eq!(app.login(&user.email, &user.password).await.status(), 401);

    let db = database().await;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT event_type, details FROM audit_log
         WHERE account_id = $1 AND event_type IN ('EMAIL_CHANGE_REQUESTED', 'EMAIL_CHANGED')
         ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["EMAIL_CHANGE_REQUESTED", "EMAIL_CHANGED"]);
    assert!(
        events
            .iter()
            .all(|(_, d)| !d.to_string().contains(&new_email)),
        "addresses are masked in the audit log: {events:?}"
    );
}

#[tokio::test]
async fn an_email_change_to_a_taken_address_is_a_conflict_and_mails_nothing() {
    let app = app();
    let (owner, other) = (new_user(), new_user());
    app.signup(&owner).await;
    let session = app.signup(&other).await;
    let id = account_id(&session);
    let (status, body) = status_json(
        app.patch_account(
            id,
            &session.access_token,
            json!({ "email": owner.email, "currentPassword": other.password }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // The other account's own verification mail arrives; no change mail with it.
    wait_for_mail(&other.email, VERIFY_SUBJECT).await;
    assert!(
        mails_to(&other.email, CHANGE_NOTICE_SUBJECT)
            .await
            .is_empty()
    );
    assert!(mails_to(&owner.email, CHANGE_SUBJECT).await.is_empty());
}

#[tokio::test]
async fn a_signup_that_rolls_back_leaves_no_mail_job() {
    let app = app();
    let taken = new_user();
    app.signup(&taken).await;
    let second = new_user();
    let response = app
        .signup_with(
            json!({ "username": taken.username, "email": second.email, "password": second.password }),
        )
        .await;
    assert_eq!(response.status(), 409);
    let db = database().await;
    let jobs: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM mail_outbox WHERE body->>'to' = $1)
              + (SELECT count(*) FROM email_tokens WHERE email = $1)",
    )
    .bind(&second.email)
    .fetch_one(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs, 0);
    // A later signup's mail arrives; the rolled-back one's never does.
    wait_for_mail(&taken.email, VERIFY_SUBJECT).await;
    assert!(mails_to(&second.email, "").await.is_empty());
}

#[tokio::test]
async fn a_job_left_in_the_outbox_is_relayed_by_the_outbox_relay_function() {
    // As if the request had committed and then failed to send: the row alone.
    let address = new_user().email;
    let email = Email::parse(&address).unwrap_or_else(|e| panic!("{e}"));
    let job = Job::new(&email, "left_behind", Mail::Welcome);
    let db = database().await;
    sqlx::query(
        "INSERT INTO mail_outbox (id, body, created_at) VALUES ($1, $2::jsonb, now() - interval '5 minutes')",
    )
    .bind(&job.id)
    .bind(job.body())
    .execute(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mail = wait_for_mail(&address, WELCOME_SUBJECT).await;
    assert!(mail.body.contains("left_behind"));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE id = $1")
        .bind(&job.id)
        .fetch_one(&db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, 0, "the relayed row is gone");
}

#[tokio::test]
async fn verify_refuses_forged_malformed_and_missing_tokens() {
    let forged = "B".repeat(43);
    for token in [forged.as_str(), "short", ""] {
        let (status, body) = verify(token).await;
        assert_eq!(status, 400, "{token}: {body}");
        assert_eq!(
            body["error"]["message"],
            "This link is invalid or has expired"
        );
    }
    let (status, body) = status_json(app().verify_email_with(json!({})).await).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["details"]["errors"][0]["message"].to_string();
    assert!(message.contains("missing field `token`"), "{body}");
}

#[tokio::test]
async fn a_reset_link_does_not_verify_and_a_verification_link_does_not_reset() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    let verification = link_token(&wait_for_mail(&user.email, VERIFY_SUBJECT).await, "verify");
    let (status, _) = status_json(
        app.reset_password(&verification, &new_user().password)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(verify(&verification).await.0, 200, "still unused");
}
