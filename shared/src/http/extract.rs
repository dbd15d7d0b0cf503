//! Extractors whose rejections are `ApiError`s, so bad input always gets the envelope
//! with a precise message instead of axum's plain-text rejection.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// JSON body; malformed JSON and wrong shape are 400, wrong content type 415,
/// over the body limit 413.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query string; anything that does not deserialize is a 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
