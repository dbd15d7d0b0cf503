//! Re-authentication for sensitive changes (enabling 2FA, changing an email, deleting
//! one's own account): an access token alone is not enough, since whoever stole one
//! could otherwise lock the owner out. The request must carry proof that the caller
//! knows the account's secrets now, in its JSON body beside the change:
//!
//! - `currentPassword`: the account's password, when 2FA is off;
//! - `currentCode`: a TOTP code or an unused backup code, when 2FA is on (the stronger
//!   factor: a thief who phished the password still cannot pass);
//! - or nothing, in a step-up session (`otp` in `amr` within `STEP_UP_MAX_AGE_SECONDS`).
//!
//! Otherwise 403 `REAUTHENTICATION_REQUIRED` (`details.required` names the field,
//! `details.reason` is `missing` or `incorrect`) and a REAUTHENTICATION_FAILED audit
//! event. Passwords count on the account's login backoff and codes on its
//! second-factor counter, so this is no side door for guessing either.
//!
//! [`Reauth`] takes the proof out of the body (the rest is the route's own typed
//! body, still refusing unknown fields); [`require`] checks it where the handler
//! knows the change is sensitive.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{FromRequest, Request},
};
use http::{HeaderValue, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use utoipa::openapi::{
    RefOr,
    schema::{ObjectBuilder, Schema, Type},
};

use super::{Principal, second_factor, step_up, unix_now_ms};
use crate::{
    AppState,
    error::ApiError,
    http::{context::RequestContext, extract::ApiJson},
    store::{
        accounts,
        audit::{self, AuditEvent, EventType, Severity},
        brute_force::{BackoffKey, Reservation},
    },
};

/// The body field carrying the current password.
pub const PASSWORD_FIELD: &str = "currentPassword";
/// The body field carrying a current one-time code (TOTP or backup code).
pub const CODE_FIELD: &str = "currentCode";

/// What the caller offered as proof; never printed.
#[derive(Default, Clone)]
pub struct Proof {
    password: Option<String>,
    code: Option<String>,
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proof")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A route's JSON body `T` and the re-authentication proof sent beside it. An empty
/// body (a DELETE) is `{}`.
#[derive(Debug)]
pub struct Reauth<T> {
    pub body: T,
    pub proof: Proof,
}

/// A body with no fields of its own (DELETE): only the proof, or nothing.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// The body's schema: `T`'s, with the two proof fields beside its own. utoipa builds
/// a generic type's schema through `ComposeSchema` (what its derive implements; hidden
/// from its docs, public), and from that its `PartialSchema`.
impl<T: utoipa::PartialSchema> utoipa::__dev::ComposeSchema for Reauth<T> {
    fn compose(_generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        let proof = |description: &str| -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
                .into()
        };
        let mut schema = T::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.properties.insert(
                PASSWORD_FIELD.into(),
                proof(
                    "Re-authentication for this change: the account's current password (2FA off)",
                ),
            );
            object.properties.insert(
                CODE_FIELD.into(),
                proof("Re-authentication for this change: a current TOTP code or an unused backup code (2FA on)"),
            );
        }
        schema
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Reauth<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        format!("{}WithReauth", T::name()).into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        T::schemas(schemas);
    }
}

fn take_string(object: &mut Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(crate::domain::ValidationErrors::one(
            field,
            "must be a string",
        )),
    }
}

impl<T> FromRequest<Arc<AppState>> for Reauth<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, state.config.http.max_body_bytes)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            axum::body::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        // The content type and JSON syntax are judged as every JSON route judges them.
        let request = Request::from_parts(parts.clone(), Body::from(bytes));
        let ApiJson(mut object) = ApiJson::<Map<String, Value>>::from_request(request, state)
            .await
            .map_err(|error| match error {
                ApiError::Validation { .. } => {
                    ApiError::validation("The body must be a JSON object")
                }
                other => other,
            })?;
        let proof = Proof {
            password: take_string(&mut object, PASSWORD_FIELD)?,
            code: take_string(&mut object, CODE_FIELD)?,
        };
        // The rest is the route's own body, with its own rules (unknown fields refused).
        let rest = serde_json::to_vec(&Value::Object(object)).map_err(ApiError::internal)?;
        let request = Request::from_parts(parts, Body::from(rest));
        let ApiJson(body) = ApiJson::<T>::from_request(request, state).await?;
        Ok(Self { body, proof })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Missing,
    Incorrect,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Incorrect => "incorrect",
        }
    }
}

/// Passes when the caller is stepped up, or `proof` holds the account's current
/// password (2FA off) or a current code (2FA on). `operation` names the change in the
/// audit event of a refusal.
pub async fn require(
    state: &AppState,
    context: &RequestContext,
    principal: &Principal,
    proof: &Proof,
    operation: &'static str,
) -> Result<(), ApiError> {
    if step_up::require(principal, state).is_ok() {
        return Ok(());
    }
    let account = accounts::find_by_id(&mut *state.db.writer().await?, principal.account_id)
        .await?
        .ok_or(ApiError::INVALID_TOKEN)?;
    let (field, outcome) = if account.two_factor_enabled {
        let outcome = match &proof.code {
            None => Err(Reason::Missing),
            Some(code) => second_factor::check(state, context, account.id, code)
                .await?
                .map(|_| ())
                .ok_or(Reason::Incorrect),
        };
        (CODE_FIELD, outcome)
    } else {
        let outcome = match &proof.password {
            None => Err(Reason::Missing),
            Some(password) => {
                if password_matches(state, account.id, &account.password_hash, password).await? {
                    Ok(())
                } else {
                    Err(Reason::Incorrect)
                }
            }
        };
        (PASSWORD_FIELD, outcome)
    };
    let Err(reason) = outcome else {
        return Ok(());
    };
    audit::record(
        &state.db,
        context,
        AuditEvent::new(
            EventType::ReauthenticationFailed,
            Severity::Warning,
            Some(principal.account_id),
        )
        .details(json!({ "operation": operation, "required": field, "reason": reason.as_str() })),
    )
    .await;
    Err(ApiError::ReauthenticationRequired {
        required: field,
        reason: reason.as_str(),
    })
}

/// The account's password, checked on its login backoff counter (the one logins by
/// any of its names use): the attempt is reserved first, a right password clears it,
/// and a backing-off account gets 429 `tier: "login-backoff"` unchecked.
pub async fn password_matches(
    state: &AppState,
    account_id: i64,
    password_hash: &str,
    password: &str,
) -> Result<bool, ApiError> {
    let counter = BackoffKey::LoginAccount(account_id);
    let policy = &state.limiter.config.login_backoff;
    if let Reservation::Wait { seconds } = state
        .brute_force
        .reserve(&counter, policy, unix_now_ms())
        .await?
    {
        return Err(ApiError::RateLimited {
            tier: "login-backoff",
            retry_after_seconds: seconds,
        });
    }
    let verified = state.passwords.verify(password, Some(password_hash)).await;
    if verified && let Err(error) = state.brute_force.clear(&counter).await {
        tracing::warn!(error = %error, "could not reset failed password checks");
    }
    Ok(verified)
}
