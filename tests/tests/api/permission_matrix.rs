//! The permission matrix end-to-end: every role × resource × action × own/other,
//! anonymous callers included, through the real routes. The expected answers come from
//! the seed's table below (a copy of the contract, not of the code), and every denial
//! must have left a PERMISSION_DENIED audit event.

use api_tests::{Session, account_id, app, database, new_user, replica_caught_up, status_json};
use reqwest::Method;
use serde_json::{Value, json};

/// The seed's table: CRUD letters for user, moderator, admin. Anonymous callers may
/// only read posts and comments.
const SEED: &str = "
    Own account        | RUD  | RUD  | CRUD
    Others' accounts   | R    | R    | CRUD
    Own profiles       | CRUD | CRUD | CRUD
    Others' profiles   | R    | RUD  | CRUD
    Own posts          | CRUD | CRUD | CRUD
    Others' posts      | R    | RUD  | RUD
    Own comments       | CRUD | CRUD | CRUD
    Others' comments   | R    | RUD  | RUD
    Reports            | C    | RU   | CRUD
    System settings    | -    | -    | CRUD
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    User,
    Moderator,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    OwnAccount,
    OtherAccount,
    OwnProfile,
    OtherProfile,
    OwnPost,
    OtherPost,
    OwnComment,
    OtherComment,
    Report,
    Settings,
}

impl Row {
    fn from_label(label: &str) -> Row {
        match label {
            "Own account" => Row::OwnAccount,
            "Others' accounts" => Row::OtherAccount,
            "Own profiles" => Row::OwnProfile,
            "Others' profiles" => Row::OtherProfile,
            "Own posts" => Row::OwnPost,
            "Others' posts" => Row::OtherPost,
            "Own comments" => Row::OwnComment,
            "Others' comments" => Row::OtherComment,
            "Reports" => Row::Report,
            "System settings" => Row::Settings,
            other => panic!("unknown row {other}"),
        }
    }

    fn owned_by_caller(self) -> bool {
        matches!(
            self,
            Row::OwnAccount | Row::OwnProfile | Row::OwnPost | Row::OwnComment
        )
    }

    /// Creating "another's" profile, post or comment, or one's own account (that is
    /// signup), is not an operation the API has.
    fn has(self, action: char) -> bool {
        action != 'C'
            || !matches!(
                self,
                Row::OwnAccount | Row::OtherProfile | Row::OtherPost | Row::OtherComment
            )
    }
}

/// (row, caller, action, allowed) for every cell of the table.
fn cases() -> Vec<(Row, Caller, char, bool)> {
    let mut cases = Vec::new();
    for line in SEED.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let row = Row::from_label(cells[0]);
        let callers = [Caller::User, Caller::Moderator, Caller::Admin];
        for action in ['C', 'R', 'U', 'D'].into_iter().filter(|a| row.has(*a)) {
            for (caller, letters) in callers.iter().zip(&cells[1..]) {
                cases.push((row, *caller, action, letters.contains(action)));
            }
            if !row.owned_by_caller() {
                let public = matches!(row, Row::OtherPost | Row::OtherComment) && action == 'R';
                cases.push((row, Caller::Anonymous, action, public));
            }
        }
    }
    cases
}

struct World {
    user: Session,
    moderator: Session,
    /// An admin with 2FA, signed in with a one-time password: step-up satisfied.
    admin: Session,
    /// Owns the "others'" rows.
    other: Session,
    other_profile: i64,
}

impl World {
    fn session(&self, caller: Caller) -> Option<&Session> {
        match caller {
            Caller::Anonymous => None,
            Caller::User => Some(&self.user),
            Caller::Moderator => Some(&self.moderator),
            Caller::Admin => Some(&self.admin),
        }
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn id_of(status: u16, body: &Value, what: &str) -> i64 {
    assert!(status == 200 || status == 201, "{what}: {status} {body}");
    body["id"]
        .as_i64()
        .or_else(|| body["account"]["id"].as_i64())
        .unwrap_or_else(|| panic!("{what}: no id in {body}"))
}

async fn comment(token: &str, post: i64) -> i64 {
    let app = app();
    let (status, body) = status_json(
        app.new_comment(post, token, json!({"body": "A comment"}))
            .await,
    )
    .await;
    id_of(status, &body, "comment")
}

/// Does `action` on a fresh row of this kind; returns the status code.
async fn attempt(world: &World, row: Row, caller: Caller, action: char) -> u16 {
    let app = app();
    // Deleting one's own account ends that caller: use a throwaway one (whose password
    // the deletion needs: it asks for re-authentication). Deleting an admin account,
    // one's own included, needs step-up.
    let throwaway_user = new_user();
    let throwaway = match (row, action, caller) {
        (Row::OwnAccount, 'D', Caller::User) => {
            Some(app.account_with_role_as(&throwaway_user, 1).await)
        }
        (Row::OwnAccount, 'D', Caller::Moderator) => {
            Some(app.account_with_role_as(&throwaway_user, 3).await)
        }
        (Row::OwnAccount, 'D', Caller::Admin) => Some(app.admin().await.stepped_up),
        _ => None,
    };
    let session = throwaway.as_ref().or(world.session(caller));
    let token = session.map(|s| s.access_token.as_str());
    let owner = if row.owned_by_caller() {
        session.unwrap_or_else(|| panic!("anonymous callers own nothing"))
    } else {
        &world.other
    };
    let (method, path, body): (Method, String, Option<Value>) = match row {
        Row::OwnAccount | Row::OtherAccount => {
            let target = if row == Row::OwnAccount {
                account_id(owner)
            } else {
                account_id(&app.signup(&new_user()).await)
            };
            let path = format!("/api/accounts/{target}");
            match action {
                'C' => {
                    let user = new_user();
                    let body = json!({"username": user.username, "email": user.email, "password": user.password, "roleId": 1});
                    (Method::POST, "/api/accounts".into(), Some(body))
                }
                'R' => (Method::GET, path, None),
                'U' => (Method::PATCH, path, Some(json!({"firstName": "Renamed"}))),
                _ => (
                    Method::DELETE,
                    path,
                    Some(json!({"currentPassword": throwaway_user.password})),
                ),
            }
        }
        Row::OwnProfile | Row::OtherProfile => {
            let path = format!(
                "/api/profiles/{}",
                app.create_profile(&owner.access_token, "Target").await
            );
            match action {
                'C' => (
                    Method::POST,
                    "/api/profiles".into(),
                    Some(json!({"name": "Mine"})),
                ),
                'R' => (Method::GET, path, None),
                'U' => (Method::PATCH, path, Some(json!({"name": "Renamed"}))),
                _ => (Method::DELETE, path, None),
            }
        }
        Row::OwnPost | Row::OtherPost => {
            let profile = app.create_profile(&owner.access_token, "Author").await;
            let path = format!(
                "/api/posts/{}",
                app.create_post(&owner.access_token, profile, "Target")
                    .await
            );
            match action {
                'C' => {
                    let body = json!({"content": {"title": "New", "body": "A body long enough"}, "postTypeId": 1, "profileId": profile});
                    (Method::POST, "/api/posts".into(), Some(body))
                }
                'R' => (Method::GET, path, None),
                'U' => (
                    Method::PATCH,
                    path,
                    Some(json!({"content": {"title": "Edited"}})),
                ),
                _ => (Method::DELETE, path, None),
            }
        }
        Row::OwnComment | Row::OtherComment => {
            let post = app
                .create_post(&world.other.access_token, world.other_profile, "Host")
                .await;
            let id = comment(&owner.access_token, post).await;
            let path = format!("/api/comments/{id}");
            match action {
                'C' => (
                    Method::POST,
                    format!("/api/posts/{post}/comments"),
                    Some(json!({"body": "Mine"})),
                ),
                'R' => (Method::GET, format!("/api/posts/{post}/comments"), None),
                'U' => (Method::PATCH, path, Some(json!({"body": "Edited"}))),
                _ => (Method::DELETE, path, None),
            }
        }
        Row::Report => {
            let post = app
                .create_post(&world.other.access_token, world.other_profile, "Spam")
                .await;
            let report = json!({"targetType": "post", "targetId": post, "reason": "spam"});
            let (status, created) = status_json(
                app.new_report(&world.other.access_token, report.clone())
                    .await,
            )
            .await;
            let path = format!("/api/reports/{}", id_of(status, &created, "report"));
            match action {
                'C' => (Method::POST, "/api/reports".into(), Some(report)),
                'R' => (Method::GET, path, None),
                'U' => (Method::PATCH, path, Some(json!({"status": "reviewing"}))),
                _ => (Method::DELETE, path, None),
            }
        }
        Row::Settings => {
            let key = unique("matrix_");
            let path = format!("/api/admin/settings/{key}");
            if action != 'C' {
                let response = app
                    .bearer_put(&path, &world.admin.access_token, json!({"value": 1}))
                    .await;
                assert_eq!(response.status(), 200, "setting up {key}");
            }
            match action {
                'C' | 'U' => (Method::PUT, path, Some(json!({"value": {"on": true}}))),
                'R' => (Method::GET, path, None),
                _ => (Method::DELETE, path, None),
            }
        }
    };
    if method == Method::GET {
        // The row was just written by another client (the admin, or the owner): a
        // reader's GET goes to the replica, which has it eventually (the product's
        // promise to other clients), so the matrix waits for it.
        replica_caught_up().await;
    }
    app.request(method, &path, token, body)
        .await
        .status()
        .as_u16()
}

async fn denials(account: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND account_id = $1",
    )
    .bind(account)
    .fetch_one(&database().await)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn every_role_resource_action_and_ownership_gets_the_seeds_answer() {
    let app = app();
    let other = app.signup(&new_user()).await;
    let other_profile = app.create_profile(&other.access_token, "Other").await;
    let admin = app.admin().await;
    let world = World {
        user: app.account_with_role(1).await,
        moderator: app.account_with_role(3).await,
        admin: admin.stepped_up,
        other,
        other_profile,
    };
    let mut wrong = Vec::new();
    let mut expected_denials = [0_i64; 3];
    let cases = cases();
    assert!(cases.len() > 100, "the whole table: {} cases", cases.len());
    for (row, caller, action, allowed) in cases {
        let status = attempt(&world, row, caller, action).await;
        let expected = match (allowed, caller) {
            (true, _) => (200..300).contains(&status),
            (false, Caller::Anonymous) => status == 401,
            (false, _) => status == 403,
        };
        if !allowed {
            match caller {
                Caller::User => expected_denials[0] += 1,
                Caller::Moderator => expected_denials[1] += 1,
                Caller::Admin => expected_denials[2] += 1,
                Caller::Anonymous => {}
            }
        }
        if !expected {
            wrong.push(format!(
                "{caller:?} {action} {row:?}: got {status}, expected {}",
                if allowed { "2xx" } else { "a refusal" }
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let audited = [
        denials(account_id(&world.user)).await,
        denials(account_id(&world.moderator)).await,
        denials(admin.id).await,
    ];
    assert_eq!(
        audited, expected_denials,
        "every denial is audited once (user, moderator, admin)"
    );
}
