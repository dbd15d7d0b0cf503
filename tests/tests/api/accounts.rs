//! The accounts function end to end: full or public views, edits through the matrix,
//! the admin list (paged), admin creation, role changes behind step-up, the cascading
//! soft delete with session revocation, and the migrate function's create-account.

use std::process::Command;

use api_tests::{
    Admin, Session, account_id, app, database, error_paths, new_user, replica_caught_up,
    require_env, status_json, token_claims,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn get(path: &str, token: &str) -> (u16, Value) {
    status_json(app().bearer_get(path, token).await).await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// Audit events of `event_type` by `actor` about `target` (`details.targetAccountId`).
async fn audited(event_type: &str, actor: i64, target: i64) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE event_type = $1 AND account_id = $2
           AND details ->> 'targetAccountId' = $3::text ORDER BY created_at",
    )
    .bind(event_type)
    .bind(actor)
    .bind(target)
    .fetch_all(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn permission_denials(actor: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1",
    )
    .bind(actor)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

const FULL: [&str; 10] = [
    "createdAt",
    "email",
    "emailVerified",
    "firstName",
    "id",
    "lastName",
    "role",
    "roleId",
    "twoFactorEnabled",
    "username",
];
const PUBLIC: [&str; 5] = ["createdAt", "firstName", "id", "lastName", "username"];

#[tokio::test]
async fn own_account_and_admins_see_everything_others_the_public_fields() {
    let app = app();
    let user = new_user();
    let owner = app.signup(&user).await;
    let id = account_id(&owner);
    let other = app.signup(&new_user()).await;
    let moderator = app.account_with_role(3).await;
    let Admin { password_only, .. } = app.admin().await;
    // Other clients (another user, a moderator, an admin) read the owner's account
    // from the replica, eventually: the product's promise to them, so this test waits.
    replica_caught_up().await;
    let path = format!("/api/accounts/{id}");

    let (status, own) = get(&path, &owner.access_token).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(keys(&own), FULL);
    assert_eq!(own["email"], user.email);
    assert_eq!(own["role"], "user");
    let (_, by_admin) = get(&path, &password_only.access_token).await;
    assert_eq!(by_admin, own, "an admin sees the full account");

    for viewer in [&other, &moderator] {
        let (status, public) = get(&path, &viewer.access_token).await;
        assert_eq!(status, 200);
        assert_eq!(
            keys(&public),
            PUBLIC,
            "no email, 2FA flag or role: {public}"
        );
        assert_eq!(public["username"], user.username);
    }

    let (status, body) = status_json(app.request(Method::GET, &path, None, None).await).await;
    assert_eq!((status, code(&body)), (401, Some("AUTHENTICATION_ERROR")));
    let (status, body) = get("/api/accounts/999999999", &owner.access_token).await;
    assert_eq!((status, code(&body)), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn an_account_edits_itself_and_only_admins_edit_others() {
    let app = app();
    let user = new_user();
    let owner = app.signup(&user).await;
    let id = account_id(&owner);
    let fresh_email = format!("{}@example.org", new_user().username);

    let (status, body) = status_json(
        app.patch_account(
            id,
            &owner.access_token,
            json!({"firstName": " Ada ", "lastName": "Lovelace", "email": fresh_email.to_uppercase(),
                   "currentPassword": user.password}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The new address waits for the link mailed to it (email_verification.rs).
    assert_eq!(
        (
            &body["firstName"],
            &body["lastName"],
            &body["email"],
            &body["pendingEmail"]
        ),
        (
            &json!("Ada"),
            &json!("Lovelace"),
            &json!(user.email),
            &json!(fresh_email)
        )
    );
    let (status, body) = status_json(
        app.patch_account(id, &owner.access_token, json!({"firstName": null}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&body["firstName"], &body["lastName"]),
        (&Value::Null, &json!("Lovelace")),
        "null clears, absent keeps"
    );
    assert_eq!(
        audited("ACCOUNT_UPDATED", id, id).await.len(),
        2,
        "edits are audited"
    );

    for (intruder, role) in [
        (app.signup(&new_user()).await, "user"),
        (app.account_with_role(3).await, "moderator"),
    ] {
        let (status, body) = status_json(
            app.patch_account(id, &intruder.access_token, json!({"lastName": "Pwned"}))
                .await,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("AUTHORIZATION_ERROR")),
            "{role}"
        );
        assert_eq!(permission_denials(account_id(&intruder)).await, 1, "{role}");
    }

    let Admin { password_only, .. } = app.admin().await;
    let (status, body) = status_json(
        app.patch_account(
            id,
            &password_only.access_token,
            json!({"lastName": "Byron"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, &body["lastName"]), (200, &json!("Byron")));

    let taken = new_user();
    app.signup(&taken).await;
    let (status, body) = status_json(
        app.patch_account(
            id,
            &owner.access_token,
            json!({"email": taken.email, "currentPassword": user.password}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code(&body)), (409, Some("CONFLICT")));

    let (status, body) = status_json(
        app.patch_account(
            id,
            &owner.access_token,
            json!({"firstName": "", "email": "not-an-email"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code(&body)), (400, Some("VALIDATION_ERROR")));
    assert_eq!(error_paths(&body), ["firstName", "email"]);
    let (status, _) = status_json(
        app.patch_account(id, &owner.access_token, json!({"roleId": 2}))
            .await,
    )
    .await;
    assert_eq!(status, 400, "the role is not editable here");
}

#[tokio::test]
async fn the_admin_list_pages_newest_first_and_returns_each_account_once() {
    let app = app();
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(account_id(&app.signup(&new_user()).await));
    }
    let Admin { password_only, .. } = app.admin().await;
    // The admin lists accounts other clients made: eventually, through the replica.
    replica_caught_up().await;
    let token = &password_only.access_token;

    // Accounts of tests running alongside interleave; walk until all of ours are seen.
    let mut path = "/api/accounts?limit=2".to_owned();
    let (mut seen, mut pages, mut times) = (Vec::new(), 0, Vec::new());
    loop {
        let (status, page) = get(&path, token).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        for item in &items {
            assert_eq!(keys(item), FULL, "the full account for admins");
            seen.push(item["id"].as_i64().unwrap_or_default());
            times.push(item["createdAt"].as_str().unwrap_or_default().to_owned());
        }
        let found = mine.iter().filter(|id| seen.contains(id)).count();
        match page["nextCursor"].as_str() {
            Some(cursor) if found < mine.len() => {
                path = format!("/api/accounts?limit=2&cursor={cursor}")
            }
            _ => break,
        }
    }
    assert!(pages >= 3, "five accounts at two a page: {pages} pages");
    for id in &mine {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "account {id} once"
        );
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no account on two pages");
    let ours: Vec<i64> = seen
        .iter()
        .copied()
        .filter(|id| mine.contains(id))
        .collect();
    let mut newest_first = mine.clone();
    newest_first.reverse();
    assert_eq!(ours, newest_first);

    let (status, body) = get("/api/accounts?cursor=eyJhIjoxfQ.AAAA", token).await;
    assert_eq!((status, code(&body)), (400, Some("VALIDATION_ERROR")));
    for role in [1, 3] {
        let caller = app.account_with_role(role).await;
        let (status, body) = get("/api/accounts", &caller.access_token).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("AUTHORIZATION_ERROR")),
            "role {role}"
        );
        assert_eq!(permission_denials(account_id(&caller)).await, 1);
    }
}

#[tokio::test]
async fn admins_create_accounts_and_privileged_ones_need_step_up() {
    let app = app();
    let Admin {
        id: admin_id,
        password_only,
        stepped_up,
    } = app.admin().await;
    let user = new_user();
    let body = |u: &api_tests::User, role_id: i64| {
        json!({"username": u.username, "email": u.email, "password": u.password,
               "firstName": "New", "roleId": role_id})
    };

    let (status, created) = status_json(
        app.new_account(&password_only.access_token, body(&user, 1))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(keys(&created["account"]), FULL);
    assert_eq!(
        (
            &created["account"]["role"],
            &created["account"]["firstName"]
        ),
        (&json!("user"), &json!("New"))
    );
    let signed_in = app.login(&user.username, &user.password).await;
    assert_eq!(signed_in.status(), 200, "the new account signs in");

    let moderator = new_user();
    let (status, refused) = status_json(
        app.new_account(&password_only.access_token, body(&moderator, 3))
            .await,
    )
    .await;
    assert_eq!((status, code(&refused)), (403, Some("STEP_UP_REQUIRED")));
    let (status, created) = status_json(
        app.new_account(&stepped_up.access_token, body(&moderator, 3))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["account"]["roleId"], 3);
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'ACCOUNT_CREATED' AND account_id = $1",
    )
    .bind(admin_id)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(logged, 2);

    let (status, body_) = status_json(
        app.new_account(&stepped_up.access_token, body(&new_user(), 9))
            .await,
    )
    .await;
    assert_eq!((status, error_paths(&body_)), (400, vec!["roleId"]));
    let (status, body_) = status_json(
        app.new_account(
            &stepped_up.access_token,
            json!({"username": "x", "email": "y", "password": "z", "roleId": 1}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error_paths(&body_)),
        (400, vec!["username", "email", "password"])
    );
    let (status, body_) = status_json(
        app.new_account(&stepped_up.access_token, body(&user, 1))
            .await,
    )
    .await;
    assert_eq!((status, code(&body_)), (409, Some("CONFLICT")), "taken");

    for role in [1, 3] {
        let caller = app.account_with_role(role).await;
        let (status, body_) = status_json(
            app.new_account(&caller.access_token, body(&new_user(), 1))
                .await,
        )
        .await;
        assert_eq!(
            (status, code(&body_)),
            (403, Some("AUTHORIZATION_ERROR")),
            "role {role}"
        );
        assert_eq!(permission_denials(account_id(&caller)).await, 1);
    }
}

#[tokio::test]
async fn role_changes_need_an_admin_with_step_up() {
    let app = app();
    let target = app.signup(&new_user()).await;
    let target_id = account_id(&target);
    let path = format!("/api/accounts/{target_id}/role");
    let Admin {
        id: admin_id,
        password_only,
        stepped_up,
    } = app.admin().await;

    let (status, body) = status_json(
        app.put_role(target_id, &password_only.access_token, json!({"roleId": 3}))
            .await,
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("STEP_UP_REQUIRED")));
    let user = app.account_with_role(1).await;
    let (status, body) = status_json(
        app.put_role(target_id, &user.access_token, json!({"roleId": 2}))
            .await,
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("AUTHORIZATION_ERROR")));
    assert_eq!(permission_denials(account_id(&user)).await, 1);
    let (status, _) = status_json(
        app.request(Method::PUT, &path, None, Some(json!({"roleId": 3})))
            .await,
    )
    .await;
    assert_eq!(status, 401);

    let (status, body) = status_json(
        app.put_role(target_id, &stepped_up.access_token, json!({"roleId": 3}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["roleId"], &body["role"]),
        (&json!(3), &json!("moderator"))
    );
    let events = audited("ROLE_CHANGED", admin_id, target_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (&events[0]["from"], &events[0]["to"]),
        (&json!(1), &json!(3))
    );

    // The role reaches the target's tokens at the next refresh.
    assert_eq!(token_claims(&target.access_token)["roleId"], 1);
    let refreshed = Session::from_response(app.refresh(&target).await).await;
    assert_eq!(token_claims(&refreshed.access_token)["roleId"], 3);

    let (status, body) = status_json(
        app.put_role(target_id, &stepped_up.access_token, json!({"roleId": 7}))
            .await,
    )
    .await;
    assert_eq!((status, error_paths(&body)), (400, vec!["roleId"]));
    let (status, body) = status_json(
        app.put_role(admin_id, &stepped_up.access_token, json!({"roleId": 1}))
            .await,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("VALIDATION_ERROR")),
        "own role"
    );
    let (status, _) = status_json(
        app.put_role(999999999, &stepped_up.access_token, json!({"roleId": 1}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
}

/// A comment by `account` on `post`, written directly (the comments function is
/// tested in its own suite).
async fn comment(account: i64, post: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO comments (post_id, post_created_at, account_id, body)
         SELECT id, created_at, $2, 'a comment' FROM posts WHERE id = $1 RETURNING id",
    )
    .bind(post)
    .bind(account)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn deleted(table: &str, id: i64) -> bool {
    // The table name is one of three literals below, never input.
    let sql = match table {
        "profiles" => "SELECT deleted AND deleted_at IS NOT NULL FROM profiles WHERE id = $1",
        "posts" => "SELECT deleted AND deleted_at IS NOT NULL FROM posts WHERE id = $1",
        "comments" => "SELECT deleted AND deleted_at IS NOT NULL FROM comments WHERE id = $1",
        _ => "SELECT deleted AND deleted_at IS NOT NULL FROM accounts WHERE id = $1",
    };
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn deleting_an_account_cascades_and_ends_its_sessions() {
    let app = app();
    let user = new_user();
    let owner = app.signup(&user).await;
    let id = account_id(&owner);
    let profile = app.create_profile(&owner.access_token, "Soon gone").await;
    let post = app
        .create_post(&owner.access_token, profile, "Soon gone too")
        .await;
    let bystander = app.signup(&new_user()).await;
    let their_profile = app.create_profile(&bystander.access_token, "Stays").await;
    let their_post = app
        .create_post(&bystander.access_token, their_profile, "Stays")
        .await;
    let own_comment = comment(id, their_post).await;
    let their_comment = comment(account_id(&bystander), post).await;

    let response = app
        .delete_account_with(
            id,
            &owner.access_token,
            json!({"currentPassword": user.password}),
        )
        .await;
    assert_eq!(
        response.status(),
        204,
        "an account deletes itself with its password, without step-up"
    );

    assert!(deleted("accounts", id).await);
    assert!(deleted("profiles", profile).await);
    assert!(deleted("posts", post).await);
    assert!(deleted("comments", own_comment).await);
    assert!(
        !deleted("comments", their_comment).await,
        "others' words stay"
    );
    assert!(!deleted("posts", their_post).await);
    let events = audited("ACCOUNT_DELETED", id, id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            &events[0]["profiles"],
            &events[0]["posts"],
            &events[0]["comments"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(events[0]["sessionsRevoked"], 1);

    // A bystander sees another account's deletion eventually (replica).
    replica_caught_up().await;
    let viewer = &bystander.access_token;
    for path in [
        format!("/api/accounts/{id}"),
        format!("/api/profiles/{profile}"),
        format!("/api/posts/{post}"),
    ] {
        let (status, _) = get(&path, viewer).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = status_json(app.refresh(&owner).await).await;
    assert_eq!(status, 401, "the session was revoked");
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        401
    );
    // The access token dies with the account, on its very next request.
    let (status, _) = status_json(
        app.new_profile(&owner.access_token, json!({"name": "Ghost"}))
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let again = app.delete_account(id, &owner.access_token).await;
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn only_a_stepped_up_admin_deletes_another_account() {
    let app = app();
    let target = app.signup(&new_user()).await;
    let id = account_id(&target);
    for role in [1, 3] {
        let caller = app.account_with_role(role).await;
        let (status, body) = status_json(app.delete_account(id, &caller.access_token).await).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("AUTHORIZATION_ERROR")),
            "role {role}"
        );
        assert_eq!(permission_denials(account_id(&caller)).await, 1);
    }
    let Admin {
        id: admin_id,
        password_only,
        stepped_up,
    } = app.admin().await;
    let (status, body) =
        status_json(app.delete_account(id, &password_only.access_token).await).await;
    assert_eq!((status, code(&body)), (403, Some("STEP_UP_REQUIRED")));
    assert!(!deleted("accounts", id).await);

    let response = app.delete_account(id, &stepped_up.access_token).await;
    assert_eq!(response.status(), 204);
    assert!(deleted("accounts", id).await);
    assert_eq!(audited("ACCOUNT_DELETED", admin_id, id).await.len(), 1);
    let (status, _) = status_json(app.refresh(&target).await).await;
    assert_eq!(status, 401);
    let response = app.delete_account(id, &stepped_up.access_token).await;
    assert_eq!(response.status(), 404);
}

/// `cargo run -q -p migrate -- create-account ...` against this stack (the test's own
/// environment is the stack's).
fn create_account_cli(role: &str, username: &str, email: &str) -> (i32, String, String) {
    require_env("DATABASE_URL");
    let output = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["run", "-q", "-p", "migrate", "--", "create-account"])
        .args(["--role", role, "--username", username, "--email", email])
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn create_account_cli_makes_a_privileged_account_once() {
    let app = app();
    let user = new_user();
    let (status, stdout, stderr) = create_account_cli("moderator", &user.username, &user.email);
    assert_eq!(status, 0, "{stderr}");
    let created: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: stdout {stdout:?}"));
    assert_eq!(created["account"]["username"], user.username);
    assert_eq!(created["account"]["roleId"], 3);
    let password = created["password"].as_str().unwrap_or_default();
    assert_eq!(password.chars().count(), 24);

    let response = app.login(&user.username, password).await;
    let session = Session::from_response(response).await;
    assert_eq!(token_claims(&session.access_token)["roleId"], 3);
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
        .bind(created["account"]["id"].as_i64().unwrap_or_default())
        .fetch_one(&database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hash.starts_with("$argon2id$") && !hash.contains(password));

    let (status, stdout, stderr) = create_account_cli("admin", &user.username, "other@example.com");
    assert_eq!(status, 3, "an existing username is refused: {stderr}");
    assert!(
        stdout.is_empty() && stderr.contains("already exists"),
        "{stderr}"
    );
    let role: i16 =
        sqlx::query_scalar("SELECT role_id FROM accounts WHERE lower(username) = lower($1)")
            .bind(&user.username)
            .fetch_one(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(role, 3, "the existing account is unchanged");

    let (status, _, stderr) = create_account_cli("user", &new_user().username, "u@example.com");
    assert_ne!(status, 0, "users sign up themselves: {stderr}");
}

/// The same through the deployed path: a `createAccount` event to the migrate
/// function (`cargo lambda invoke` against the served stack, as in AWS with
/// `aws lambda invoke`); any other event still migrates.
#[tokio::test]
async fn the_migrate_function_creates_an_account_from_an_event() {
    let app = app();
    let port = app.port().to_owned();
    let invoke = |event: Value| {
        let output = Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "migrate",
                "-A",
                "127.0.0.1",
                "-P",
                &port,
            ])
            .args(["--data-ascii", &event.to_string(), "-o", "json"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo lambda: {e}"));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let user = new_user();
    let event =
        json!({"createAccount": {"role": "admin", "username": user.username, "email": user.email}});
    let (ok, stdout, stderr) = invoke(event.clone());
    assert!(ok, "{stderr}");
    let created: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    assert_eq!(created["account"]["role"], "admin");
    let password = created["password"].as_str().unwrap_or_default();
    let session = Session::from_response(app.login(&user.username, password).await).await;
    assert_eq!(token_claims(&session.access_token)["roleId"], 2);

    let (ok, _, stderr) = invoke(event);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    let (ok, stdout, stderr) = invoke(json!({}));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("applied"), "{stdout}");
}
