//! Signup, login, me, logout, sessions, password change and the audit trail, end to
//! end through cargo lambda watch.

use api_tests::{Session, app, database, new_user, set_cookie_line};
use serde_json::{Value, json};
use shared::auth::cookies;

#[tokio::test]
async fn signup_returns_the_account_tokens_and_cookies() {
    let app = app();
    let user = new_user();
    let response = app
        .signup_with(json!({"username": user.username, "email": user.email.to_uppercase(), "password": user.password,
               "firstName": "  Ada ", "lastName": "Lovelace"}))
        .await;
    assert_eq!(response.status(), 201);
    let refresh_line = set_cookie_line(&response, cookies::REFRESH).unwrap_or_default();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(
            refresh_line.contains(attribute),
            "{attribute} missing: {refresh_line}"
        );
    }
    let csrf_line = set_cookie_line(&response, cookies::CSRF).unwrap_or_default();
    assert!(
        csrf_line.contains("Path=/") && csrf_line.contains("HttpOnly"),
        "{csrf_line}"
    );
    let session = Session::from_response(response).await;
    let account = &session.body["account"];
    assert_eq!(account["username"], user.username.as_str());
    assert_eq!(
        account["email"],
        user.email.as_str(),
        "email is stored lowercased"
    );
    assert_eq!(
        (account["roleId"].as_i64(), account["role"].as_str()),
        (Some(1), Some("user"))
    );
    assert_eq!(account["firstName"], "Ada");
    assert_eq!(account["twoFactorEnabled"], false);
    assert!(account.get("passwordHash").is_none() && !session.body.to_string().contains("argon2"));
    assert_eq!(
        (
            session.body["tokenType"].as_str(),
            session.body["expiresIn"].as_u64()
        ),
        (Some("Bearer"), Some(900))
    );

    let me: Value = app
        .me(&session.access_token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    assert_eq!(me["account"]["id"], account["id"]);
}

#[tokio::test]
async fn login_by_username_or_email_in_any_case() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    for name in [user.username.to_uppercase(), user.email.to_uppercase()] {
        let session = Session::from_response(app.login(&name, &user.password).await).await;
        assert_eq!(session.body["account"]["username"], user.username.as_str());
    }
}

#[tokio::test]
async fn invalid_fields_are_all_reported_with_paths() {
    let app = app();
    let response = app
        .signup_with(json!({"username": "a b", "email": "not-an-email", "password": "password123", "firstName": ""}))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let paths: Vec<&str> = body["error"]["details"]["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["path"].as_str()).collect())
        .unwrap_or_default();
    for path in ["username", "email", "password", "firstName"] {
        assert!(paths.contains(&path), "{path} not reported: {body}");
    }
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_rejected() {
    let app = app();
    let user = new_user();
    let response = app
        .signup_with(json!({"username": user.username, "email": user.email, "password": user.password, "roleId": 2}))
        .await;
    assert_eq!(
        response.status(),
        400,
        "a client must not be able to choose its role"
    );
    let response = app.login_with(json!({"login": 5, "password": "x"})).await;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        body["error"]["details"]["errors"][0]["path"], "login",
        "{body}"
    );
}

#[tokio::test]
async fn duplicate_username_or_email_is_one_conflict_that_does_not_say_which() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    let other = new_user();
    let mut answers = Vec::new();
    for body in [
        json!({"username": user.username.to_uppercase(), "email": other.email, "password": other.password}),
        json!({"username": other.username, "email": user.email, "password": other.password}),
    ] {
        let response = app.signup_with(body).await;
        assert_eq!(response.status(), 409);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        answers.push((
            body["error"]["code"].clone(),
            body["error"]["message"].clone(),
            body["error"]["details"].clone(),
        ));
    }
    assert_eq!(answers[0], answers[1], "the same answer for either field");
    assert_eq!(answers[0].0, "CONFLICT");
    assert_eq!(answers[0].2, Value::Null, "no field named");
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    let wrong = app.login(&user.username, "not the password at all").await;
    let unknown = app.login("nobody_by_this_name", &user.password).await;
    assert_eq!(
        (wrong.status().as_u16(), unknown.status().as_u16()),
        (401, 401)
    );
    let strip = |mut body: Value| {
        for volatile in ["timestamp", "requestId"] {
            body["error"][volatile] = Value::Null;
        }
        body
    };
    let wrong = strip(wrong.json().await.unwrap_or(Value::Null));
    let unknown = strip(unknown.json().await.unwrap_or(Value::Null));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["message"], "Invalid credentials");
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_cookies() {
    let app = app();
    let session = app.signup(&new_user()).await;
    let response = app.logout(&session).await;
    assert_eq!(response.status(), 204);
    assert!(set_cookie_line(&response, cookies::REFRESH).is_some_and(|l| l.contains("Max-Age=0")));
    assert_eq!(app.refresh(&session).await.status(), 401);
}

#[tokio::test]
async fn sessions_are_listed_revoked_individually_and_all_at_once() {
    let app = app();
    let user = new_user();
    let first = app.signup(&user).await;
    let second = Session::from_response(app.login(&user.username, &user.password).await).await;

    let listed: Value = app
        .sessions(&second.access_token)
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
    let sessions = listed["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{listed}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        sessions
            .iter()
            .all(|s| s["ip"].is_string() && s["createdAt"].is_string())
    );

    // Another account cannot revoke it, and cannot learn that it exists.
    let stranger = app.signup(&new_user()).await;
    let delete = |token: String, id: String| async move {
        app.delete(&format!("/api/auth/sessions/{id}"))
            .bearer_auth(token)
            .try_send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(
        delete(stranger.access_token.clone(), other.clone()).await,
        404
    );
    assert_eq!(
        delete(second.access_token.clone(), other.clone()).await,
        204
    );
    assert_eq!(
        delete(second.access_token.clone(), other.clone()).await,
        404
    );
    assert_eq!(
        app.refresh(&first).await.status(),
        401,
        "the revoked session cannot refresh"
    );
    assert_eq!(app.refresh(&second).await.status(), 200);

    let third = Session::from_response(app.login(&user.username, &user.password).await).await;
    let response = app
        .post("/api/auth/logout-all")
        .bearer_auth(&third.access_token)
        .try_send()
        .await;
    assert_eq!(response.map(|r| r.status().as_u16()).unwrap_or(0), 204);
    assert_eq!(app.refresh(&third).await.status(), 401);
}

#[tokio::test]
async fn password_change_revokes_every_other_session() {
    let app = app();
    let user = new_user();
    let kept = app.signup(&user).await;
    let other = Session::from_response(app.login(&user.username, &user.password).await).await;
    let change = |current: &str, new: &str| {
        app.post("/api/auth/password")
            .bearer_auth(&kept.access_token)
            .json(&json!({"currentPassword": current, "newPassword": new}))
            .try_send()
    };
    let wrong = change("not my password", "a perfectly fine new passphrase")
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(wrong.unwrap_or(0), 400);
    let weak = change(&user.password, &user.username)
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(weak.unwrap_or(0), 400);

    let new_password = "granite wombat sings at dusk";
    let ok = change(&user.password, new_password)
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(ok.unwrap_or(0), 204);
    assert_eq!(
        app.refresh(&other).await.status(),
        401,
        "other sessions are revoked"
    );
    assert_eq!(
        app.refresh(&kept).await.status(),
        200,
        "the changing session stays"
    );
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        401
    );
    assert_eq!(app.login(&user.username, new_password).await.status(), 200);
}

#[tokio::test]
async fn security_events_are_audited_without_secrets() {
    let app = app();
    let user = new_user();
    let session = app.signup(&user).await;
    app.login(&user.username, "wrong password for audit").await;
    app.login(&user.username, &user.password).await;
    let id = session.body["account"]["id"].as_i64().unwrap_or_default();
    let db = database().await;
    let rows: Vec<(String, String, Option<String>, Value)> = sqlx::query_as(
        "SELECT event_type, severity, host(ip), details FROM audit_log
         WHERE account_id = $1 OR details->>'login' = $2 ORDER BY id",
    )
    .bind(id)
    .bind(&user.username)
    .fetch_all(&db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let types: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for expected in ["SIGNUP", "FAILED_LOGIN_ATTEMPT", "LOGIN_SUCCESS"] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    assert!(
        rows.iter().all(|r| r.2.is_some()),
        "every event records the client ip"
    );
    let everything = format!("{rows:?}");
    assert!(
        !everything.contains(&user.password)
            && !everything.contains("wrong password")
            && !everything.contains("argon2")
    );
}

#[tokio::test]
async fn csrf_token_endpoint_sets_the_cookie() {
    let app = app();
    let response = app.get("/api/csrf-token").send_once().await;
    let cookie = api_tests::set_cookie(&response, cookies::CSRF);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(body["csrfToken"].is_string());
    assert_eq!(body["csrfToken"].as_str(), cookie.as_deref());
}

#[tokio::test]
async fn auth_routes_carry_rate_limit_headers() {
    let app = app();
    let user = new_user();
    app.signup(&user).await;
    let response = app.login(&user.username, &user.password).await;
    let policy = response
        .headers()
        .get("ratelimit-policy")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    assert!(policy.is_some_and(|p| p.contains(";q=") && p.contains(";w=")));
    for name in [
        "ratelimit",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(response.headers().contains_key(name), "{name} missing");
    }
}
