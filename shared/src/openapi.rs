//! The OpenAPI document's frame, and what every route's operation shares: the error
//! answers it may give, as references to `components.responses` (each the error
//! envelope, `components.schemas.Error`, rendered in one place: `http/envelope.rs`),
//! and the security schemes. The functions' `ApiDoc`s add their operations;
//! tests/src/bin/openapi.rs merges them into openapi.yaml.

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses, Modify, OpenApi,
    openapi::{
        ContentBuilder, HeaderBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type,
        response::Response,
        schema::Ref,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::http::envelope::ErrorEnvelope;

/// What is not any one route's: the description, the dev server, the default
/// security (Bearer), the tags in the order the README lists the functions, the error
/// envelope, the shared error answers and the security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Blue Harvest API",
        description = "The Blue Harvest back end: Rust AWS Lambda functions behind an API Gateway HTTP API. Every non-2xx response is the error envelope (`#/components/schemas/Error`), rendered in one place (`shared/src/http/envelope.rs`). Every route under `/api` is rate limited, so any of them may answer 429 `RATE_LIMIT_EXCEEDED`, 403 `IP_BLOCKED` (a client IP blocked for brute force) or 503 `SERVICE_UNAVAILABLE` (a limiter that fails closed, with `Retry-After`). Routes that take a JSON body answer 415 without `Content-Type: application/json` and 413 above `MAX_BODY_BYTES`. Generated from the code (`make openapi`) and checked against the running API by `scripts/contract-test.sh` (schemathesis)."
    ),
    servers((url = "http://127.0.0.1:9000", description = "the dev stack (`make dev`)")),
    security(("bearer" = [])),
    tags(
        (name = "health"),
        (name = "auth"),
        (name = "accounts"),
        (name = "profiles"),
        (name = "posts"),
        (name = "comments"),
        (name = "reports"),
        (name = "admin")
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&SharedComponents)
)]
pub struct Frame;

/// The error answers every operation refers to, and the security schemes.
struct SharedComponents;

/// (name, description, whether it carries `Retry-After`)
const ERROR_ANSWERS: [(&str, &str, bool); 10] = [
    (
        "BadRequest",
        "`VALIDATION_ERROR` (`details.errors` lists each field), or a malformed path, query or body",
        false,
    ),
    (
        "Unauthorized",
        "`AUTHENTICATION_ERROR`; a rejected Bearer token also gets `WWW-Authenticate: Bearer error=\"invalid_token\"`",
        false,
    ),
    (
        "Forbidden",
        "`AUTHORIZATION_ERROR` (role or permission), `STEP_UP_REQUIRED`, `REAUTHENTICATION_REQUIRED` (`details: {required: currentPassword|currentCode, reason: missing|incorrect}`), `CSRF_TOKEN_INVALID` or `IP_BLOCKED` (with `Retry-After`)",
        false,
    ),
    ("NotFound", "`NOT_FOUND`", false),
    ("Conflict", "`CONFLICT`", false),
    (
        "PayloadTooLarge",
        "`PAYLOAD_TOO_LARGE`: the body is over `MAX_BODY_BYTES`",
        false,
    ),
    (
        "UnsupportedMediaType",
        "`UNSUPPORTED_MEDIA_TYPE`: a JSON route called without `Content-Type: application/json`",
        false,
    ),
    (
        "TooManyRequests",
        "`RATE_LIMIT_EXCEEDED`, `details: {tier, retryAfter}`; `tier` is a rate-limit tier, or `login-backoff` / `mfa-backoff` (an account's password or code attempts backing off)",
        true,
    ),
    (
        "InternalError",
        "`INTERNAL_ERROR`; the cause is logged, never sent",
        false,
    ),
    (
        "ServiceUnavailable",
        "`SERVICE_UNAVAILABLE` (with `Retry-After`): a dependency is down, or the health check's writer is unreachable (the report in `details`)",
        true,
    ),
];

impl Modify for SharedComponents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description, retry_after) in ERROR_ANSWERS {
            let mut answer = ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            );
            if retry_after {
                answer = answer.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                        .description(Some("seconds to wait"))
                        .build(),
                );
            }
            components
                .responses
                .insert(name.to_owned(), RefOr::T(answer.build()));
        }
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "RS256 access token (`typ: at+jwt`) from signup, login, 2FA verify or refresh.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refreshCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Secure-bh_refresh",
                "The refresh token (HttpOnly, Secure, SameSite=Strict, Path=/api/auth), set by signup, login, 2FA verify and refresh.",
            ))),
        );
        components.add_security_scheme(
            "csrfCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-bh_csrf",
                "The CSRF token's cookie half (HttpOnly, Secure, SameSite=Strict, Path=/): signed double submit, bound to the session.",
            ))),
        );
        components.add_security_scheme(
            "csrfHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The `csrfToken` from a token response or `GET /api/csrf-token` (never read from a cookie); must equal the `__Host-bh_csrf` cookie and be bound to the refresh cookie's session.",
            ))),
        );
    }
}

fn refs(answers: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    answers
        .iter()
        .map(|(status, name)| {
            (
                (*status).to_owned(),
                RefOr::Ref(Ref::from_response_name(*name)),
            )
        })
        .collect()
}

/// Any route under `/api`: bad input, no or a refused identity, nothing there, the
/// rate limits and IP blocks, and a failing dependency.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("400", "BadRequest"),
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("404", "NotFound"),
            ("429", "TooManyRequests"),
            ("500", "InternalError"),
            ("503", "ServiceUnavailable"),
        ])
    }
}

/// A route outside `/api` (not rate limited, no identity): only a failing dependency.
pub struct ServerErrors;

impl IntoResponses for ServerErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("500", "InternalError"), ("503", "ServiceUnavailable")])
    }
}

/// A route that takes a JSON body, beside [`Errors`]: a conflicting write, a body over
/// `MAX_BODY_BYTES`, a body that is not `application/json`.
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("409", "Conflict"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ])
    }
}
