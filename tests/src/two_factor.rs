//! Two-factor auth as a client does it: codes computed here from the secret that
//! setup returned, enrolment, and the login challenge.

use shared::auth::cookies;

use crate::{TestApp, User};

/// The code an authenticator app shows `steps_ahead` 30 s steps from now.
pub fn totp_code(secret: &[u8], steps_ahead: i64) -> String {
    let time = u64::try_from(shared::auth::unix_now() + 30 * steps_ahead).unwrap_or(0);
    shared::auth::totp::code_at(secret, time).unwrap_or_else(|e| panic!("{e}"))
}

/// What enabling 2FA left the client with.
pub struct TwoFactor {
    pub secret: Vec<u8>,
    /// The code that enabled 2FA; its time step is used up.
    pub enabling_code: String,
    pub backup_codes: Vec<String>,
}

impl TestApp {
    /// Setup then enable, with the code computed from the secret setup returned, and the
    /// account's password (enabling 2FA needs re-authentication).
    pub async fn enable_two_factor(&self, session: &crate::Session, password: &str) -> TwoFactor {
        let setup: serde_json::Value = self
            .two_factor_setup(&session.access_token)
            .await
            .json()
            .await
            .unwrap_or(serde_json::Value::Null);
        let base32 = setup["secret"].as_str().unwrap_or_default().to_owned();
        assert!(
            setup["otpauthUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with("otpauth://totp/") && u.contains(&base32)),
            "{setup}"
        );
        assert!(
            setup["qrSvg"]
                .as_str()
                .is_some_and(|svg| svg.contains("<svg"))
        );
        let secret = totp_rs::Secret::try_from_base32(&base32)
            .map(|secret| secret.as_ref().to_vec())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(secret.len(), 20, "a 160-bit secret");
        let enabling_code = totp_code(&secret, 0);
        let enabled = self
            .two_factor_enable(&session.access_token, &enabling_code, password)
            .await;
        assert_eq!(enabled.status(), 200);
        let body: serde_json::Value = enabled.json().await.unwrap_or(serde_json::Value::Null);
        let backup_codes: Vec<String> = body["backupCodes"]
            .as_array()
            .map(|codes| {
                codes
                    .iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(backup_codes.len(), 10);
        TwoFactor {
            secret,
            enabling_code,
            backup_codes,
        }
    }

    /// Logs in with the password and returns the MFA token (2FA is on).
    pub async fn mfa_challenge(&self, user: &User) -> String {
        let response = self.login(&user.username, &user.password).await;
        assert_eq!(response.status(), 200);
        // (A read-your-writes cookie may come: the login touched the writer.)
        for session_cookie in [cookies::REFRESH, cookies::CSRF] {
            assert!(
                crate::responses::set_cookie(&response, session_cookie).is_none(),
                "no session before the second factor"
            );
        }
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        assert_eq!(body["mfaRequired"], true, "{body}");
        assert!(body.get("accessToken").is_none());
        body["mfaToken"].as_str().unwrap_or_default().to_owned()
    }
}
