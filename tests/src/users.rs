//! Who the tests act as: fresh users, the session a client holds, and accounts with a
//! role (an admin with 2FA, a moderator).

use shared::auth::cookies;

use crate::{TestApp, database, responses::set_cookie};

/// A fresh, unique account's credentials (tests share one database).
pub struct User {
    pub username: String,
    pub email: String,
    pub password: String,
}

/// Every password `new_user` makes is `"{PASSWORD_HEAD} <6 hex digits> {PASSWORD_TAIL}"`:
/// the log scan (`tests/tests/api/log_scan.rs`) looks for that shape.
pub const PASSWORD_HEAD: &str = "tidal orchid";
pub const PASSWORD_TAIL: &str = "lantern";

pub fn new_user() -> User {
    let id = uuid::Uuid::new_v4().simple().to_string();
    User {
        username: format!("user_{}", &id[..12]),
        email: format!("u{}@example.com", &id[..12]),
        password: format!("{PASSWORD_HEAD} {} {PASSWORD_TAIL}", &id[..6]),
    }
}

/// What a client holds after signup, login or refresh.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh: String,
    pub csrf: String,
    pub body: serde_json::Value,
}

impl Session {
    /// Reads a 200/201 token response; panics with the body otherwise.
    pub async fn from_response(response: reqwest::Response) -> Session {
        let status = response.status().as_u16();
        let refresh = set_cookie(&response, cookies::REFRESH);
        let csrf = set_cookie(&response, cookies::CSRF);
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        assert!(
            status == 200 || status == 201,
            "expected tokens, got {status}: {body}"
        );
        Session {
            access_token: body["accessToken"].as_str().unwrap_or_default().to_owned(),
            refresh: refresh.unwrap_or_else(|| panic!("no {} cookie: {body}", cookies::REFRESH)),
            csrf: csrf.unwrap_or_else(|| panic!("no {} cookie: {body}", cookies::CSRF)),
            body,
        }
    }
}

/// The account id of a signed-in session.
pub fn account_id(session: &Session) -> i64 {
    session.body["account"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no account in {}", session.body))
}

/// An admin with 2FA: `password_only` is its first session (refreshed after the role
/// change, so its token says admin; `amr: ["pwd"]`), `stepped_up` signed in with a
/// backup code (`amr: ["pwd","otp"]`).
pub struct Admin {
    pub id: i64,
    pub password_only: Session,
    pub stepped_up: Session,
}

impl TestApp {
    /// A new account with `role_id` set in the database, and a session refreshed after
    /// the change so its access token carries the role. 1 user, 2 admin, 3 moderator.
    pub async fn account_with_role(&self, role_id: i16) -> Session {
        self.account_with_role_as(&new_user(), role_id).await
    }

    /// [`TestApp::account_with_role`] for a given user (whose password the test keeps).
    pub async fn account_with_role_as(&self, user: &User, role_id: i16) -> Session {
        let first = self.signup(user).await;
        let id = first.body["account"]["id"].as_i64().unwrap_or_default();
        sqlx::query("UPDATE accounts SET role_id = $2 WHERE id = $1")
            .bind(id)
            .bind(role_id)
            .execute(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut session = Session::from_response(self.refresh(&first).await).await;
        session.body["account"] = first.body["account"].clone();
        session
    }

    /// A new [`Admin`]. The role is set in the database.
    pub async fn admin(&self) -> Admin {
        let user = new_user();
        let first = self.signup(&user).await;
        let id = first.body["account"]["id"].as_i64().unwrap_or_default();
        sqlx::query("UPDATE accounts SET role_id = 2 WHERE id = $1")
            .bind(id)
            .execute(&database().await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let two_factor = self.enable_two_factor(&first, &user.password).await;
        let password_only = Session::from_response(self.refresh(&first).await).await;
        let challenge = self.mfa_challenge(&user).await;
        let stepped_up = Session::from_response(
            self.verify_mfa(&challenge, &two_factor.backup_codes[0])
                .await,
        )
        .await;
        Admin {
            id,
            password_only,
            stepped_up,
        }
    }
}
