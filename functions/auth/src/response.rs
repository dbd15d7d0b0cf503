//! What the auth routes answer, and the OpenAPI schemas of it (derived, so the
//! document cannot drift from the code: tests/src/bin/openapi.rs). The account
//! itself is `shared::response::Account`.

use serde::Serialize;
use shared::{response::Account, store::families::Family};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The answer of signup, login, 2FA verify and refresh: a session's tokens, and the
/// account where one signed in (refresh answers the tokens alone). A page takes the
/// CSRF token from here (or `GET /api/csrf-token`), never from a cookie.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub account: Option<Account>,
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds the access token is valid for.
    pub expires_in: u64,
    /// The session's CSRF token, for the `X-CSRF-Token` header of refresh and logout
    /// (browser clients; bearer clients need none).
    pub csrf_token: String,
}

/// How the access token is presented: `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub enum TokenType {
    Bearer,
}

/// What a login answers: a session, or with 2FA on a challenge. The two branches of
/// `login` answer these two types; this names their union for the document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginReply {
    Session(SessionReply),
    Challenge(MfaChallenge),
}

/// A login whose password was right, on an account with 2FA: the code goes to
/// `POST /api/auth/2fa/verify` with this token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    pub mfa_token: String,
}

/// One of the caller's sessions (a refresh-token family).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Session {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    #[schema(required)]
    pub ip: Option<String>,
    #[schema(required)]
    pub user_agent: Option<String>,
    /// The session of the access token that asked.
    pub current: bool,
}

impl Session {
    pub fn of(family: Family, current_session: &str) -> Self {
        let at = |seconds| {
            OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        Self {
            current: family.id == current_session,
            created_at: at(family.created_at),
            last_used_at: at(family.last_used_at),
            id: family.id,
            ip: family.ip,
            user_agent: family.user_agent,
        }
    }
}

/// `GET /api/auth/sessions`: the caller's sessions that can still refresh.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    pub sessions: Vec<Session>,
}

/// A TOTP secret to enrol, pending until `POST /api/auth/2fa/enable` confirms a code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwoFactorSetup {
    /// Base32, for typing into an authenticator.
    pub secret: String,
    pub otpauth_url: String,
    /// The `otpauthUrl` as a QR code (SVG).
    pub qr_svg: String,
}

/// Single-use codes that stand in for a TOTP code, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupCodes {
    pub backup_codes: Vec<String>,
}

/// An address proven by its link.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailVerified {
    /// The account's address now.
    pub email: String,
    /// Always true.
    pub email_verified: bool,
    /// The link confirmed a change of address (not the first verification).
    pub changed: bool,
}

/// A request taken, whose outcome is not told (forgot password).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub message: &'static str,
}

/// The CSRF token of the session the `__Host-bh_csrf` cookie names.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsrfToken {
    pub csrf_token: String,
}
