//! The events that page someone are recorded as critical (template.yaml's
//! SecurityEvents metric filters count the "critical security event" line of each;
//! scripts/check-alerts.py checks those lines in the run's log at the end of make test):
//! an account made admin, and an admin turning 2FA off. The same changes made to or by
//! an ordinary user are not critical.

use api_tests::{Admin, Session, User, account_id, app, database, new_user, status_json};
use serde_json::json;

async fn severities(event_type: &str, account: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT severity FROM audit_log WHERE event_type = $1
           AND (account_id = $2 OR details->>'targetAccountId' = $2::text) ORDER BY id",
    )
    .bind(event_type)
    .bind(account)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Turns 2FA on for `session`'s account, signs in with a backup code (step-up) and turns
/// it off again with the password and another backup code.
async fn two_factor_on_then_off(user: &User, session: &Session) {
    let app = app();
    let two_factor = app.enable_two_factor(session, &user.password).await;
    let challenge = app.mfa_challenge(user).await;
    let stepped_up = Session::from_response(
        app.verify_mfa(&challenge, &two_factor.backup_codes[0])
            .await,
    )
    .await;
    let (status, body) = status_json(
        app.two_factor_disable(
            &stepped_up.access_token,
            &user.password,
            &two_factor.backup_codes[1],
        )
        .await,
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn making_an_admin_and_an_admin_dropping_2fa_are_critical() {
    let app = app();
    let Admin { stepped_up, .. } = app.admin().await;
    let user = new_user();
    let session = app.signup(&user).await;
    let id = account_id(&session);

    let (status, body) = status_json(
        app.put_role(id, &stepped_up.access_token, json!({"roleId": 2}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(severities("ROLE_CHANGED", id).await, ["critical"]);

    // The role change refuses the old token at once; a refresh brings the new role.
    let session = Session::from_response(app.refresh(&session).await).await;
    two_factor_on_then_off(&user, &session).await;
    assert_eq!(severities("2FA_DISABLED", id).await, ["critical"]);
}

#[tokio::test]
async fn a_user_dropping_2fa_or_made_moderator_is_not_critical() {
    let app = app();
    let Admin { stepped_up, .. } = app.admin().await;
    let user = new_user();
    let session = app.signup(&user).await;
    let id = account_id(&session);
    two_factor_on_then_off(&user, &session).await;
    assert_eq!(severities("2FA_DISABLED", id).await, ["warning"]);

    let (status, body) = status_json(
        app.put_role(id, &stepped_up.access_token, json!({"roleId": 3}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(severities("ROLE_CHANGED", id).await, ["warning"]);
}
