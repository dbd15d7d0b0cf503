//! The MFA token: proof that the password was right, good only for
//! `POST /api/auth/2fa/verify`, five minutes, once (its `jti` is tracked in DynamoDB by
//! `store::mfa`). HS256 with the refresh key under its own audience and type.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    access::{ISSUER, TokenError},
    hmac_jwt,
};
use crate::secrets::HmacKey;

const AUDIENCE: &str = "blue-harvest-mfa";
const TYPE: &str = "mfa+jwt";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MfaClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl MfaClaims {
    pub fn account_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

pub fn issue(
    key: &HmacKey,
    account_id: i64,
    ttl: Duration,
    now: i64,
) -> Result<String, TokenError> {
    let claims = MfaClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: account_id.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
    };
    hmac_jwt::sign(key, TYPE, &claims)
}

pub fn verify(key: &HmacKey, token: &str) -> Result<MfaClaims, TokenError> {
    hmac_jwt::verify(key, token, TYPE, AUDIENCE)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::{Engine, engine::general_purpose::STANDARD};

    use super::*;
    use crate::{
        auth::refresh,
        secrets::{AppKeys, FromSecret},
    };

    fn keys() -> AppKeys {
        let k = STANDARD.encode([5_u8; 32]);
        let raw = serde_json::json!({"refreshKey": k, "csrfKey": k, "cursorKey": k, "totpKey": k, "backupCodeKey": k});
        AppKeys::parse("t", &raw.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn mfa_and_refresh_tokens_never_pass_for_each_other() {
        let keys = keys();
        let now = crate::auth::unix_now();
        let mfa_token = issue(&keys.refresh, 7, Duration::from_secs(300), now).unwrap_or_default();
        let refresh_token =
            refresh::issue(&keys.refresh, 7, "fam", 0, Duration::from_secs(300), now)
                .unwrap_or_default();
        assert_eq!(
            verify(&keys.refresh, &mfa_token).map(|c| c.account_id()),
            Ok(Some(7))
        );
        assert!(verify(&keys.refresh, &refresh_token).is_err());
        assert!(refresh::verify(&keys.refresh, &mfa_token).is_err());
        assert!(refresh::verify(&keys.refresh, &refresh_token).is_ok());
    }

    #[test]
    fn an_expired_mfa_token_is_refused() {
        let keys = keys();
        let past = crate::auth::unix_now() - 600;
        let token = issue(&keys.refresh, 7, Duration::from_secs(300), past).unwrap_or_default();
        assert!(verify(&keys.refresh, &token).is_err());
    }
}
