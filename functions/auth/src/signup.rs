//! `POST /api/auth/signup`

use std::sync::Arc;

use axum::{Extension, extract::State, response::Response};
use http::StatusCode;
use serde::Deserialize;
use shared::openapi::{BodyErrors, Errors};
use shared::{
    ApiError, AppState,
    domain::{Email, NewPassword, PersonName, Role, Username, ValidationErrors},
    http::{
        context::{RequestContext, RequestFacts},
        extract::ApiJson,
    },
    mail::Outbox,
    metrics,
    store::{
        StoreError,
        accounts::{self, NewAccount},
        audit::{self, AuditEvent, EventType, Severity},
    },
};
use utoipa::ToSchema;

use crate::{email, response::SessionReply, tokens};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    username: String,
    email: String,
    /// 12 to 128 characters, zxcvbn score at least 3.
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", operation_id = "signup",
    summary = "Create a user account and start a session",
    description = "A username or email already in use (in any case) answers one 409, \"That username or email cannot be used\", naming neither field.",
    security(()),
    request_body = SignupRequest,
    responses((status = 201, description = "The account, an access token, the session's `csrfToken`, and the `__Secure-bh_refresh` and `__Host-bh_csrf` cookies", body = SessionReply, headers(("Set-Cookie" = String, description = "`__Secure-bh_refresh` (the refresh token) and `__Host-bh_csrf` (the CSRF token), two Set-Cookie headers"))), Errors, BodyErrors))]
pub async fn signup(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    Extension(facts): Extension<RequestFacts>,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<Response, ApiError> {
    let mut errors = ValidationErrors::default();
    let username = errors.check("username", Username::parse(&body.username));
    let email = errors.check("email", Email::parse(&body.email));
    let password = errors.check(
        "password",
        NewPassword::parse(
            &body.password,
            &state.config.auth.password,
            &[&body.username, &body.email],
        ),
    );
    let mut name =
        |path, raw: Option<String>| raw.and_then(|raw| errors.check(path, PersonName::parse(&raw)));
    let first_name = name("firstName", body.first_name);
    let last_name = name("lastName", body.last_name);
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }

    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    let account = accounts::insert(
        &mut *tx,
        NewAccount {
            username: &username,
            email: &email,
            password_hash: &hash,
            role: Role::User,
            first_name: first_name.as_ref(),
            last_name: last_name.as_ref(),
        },
    )
    .await
    .map_err(|error| match error {
        // One answer whichever is taken, so signup does not say which of a username
        // and an email belongs to someone (README, "Auth").
        StoreError::Conflict(_) => ApiError::Conflict {
            message: "That username or email cannot be used".into(),
            details: None,
        },
        other => other.into(),
    })?;
    audit::insert(
        &mut tx,
        &context,
        AuditEvent::new(EventType::Signup, Severity::Info, Some(account.id)),
    )
    .await?;
    // The verification mail commits with the account, or neither does.
    let mut outbox = Outbox::default();
    email::send_verification(&mut tx, &state, &account, &mut outbox).await?;
    tx.commit().await?;
    state.mail.relay(&state.db, outbox).await;
    facts.set_account_id(account.id);
    // The address masked: enough to answer "did j***@example.com sign up?", never a
    // list of addresses in the logs.
    tracing::info!(accountId = account.id, email = %email.masked(), "account created");
    metrics::count("Signups", &[]);
    let tokens = tokens::start(&state, &context, &account, vec!["pwd".into()]).await?;
    Ok(tokens.respond(StatusCode::CREATED, Some(account)))
}
