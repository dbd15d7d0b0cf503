//! What every route's OpenAPI operation shares: the error answers it may give, as
//! references to the document's `components.responses` (each the error envelope,
//! `components.schemas.Error`, rendered in one place: `http/envelope.rs`). Used in
//! the functions' `#[utoipa::path(responses(...))]`; tests/src/bin/openapi.rs writes
//! the generated operations into openapi.yaml.

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses,
    openapi::{RefOr, response::Response, schema::Ref},
};

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
