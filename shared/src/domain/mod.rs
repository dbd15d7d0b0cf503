//! Parse, don't validate: request fields become these types once, at the edge, and
//! everything past the handler can rely on them.

pub mod content;
pub mod duration;
mod email;
mod names;
mod password;
mod role;
mod username;

pub use duration::Window;
pub use email::Email;
pub use names::PersonName;
pub use password::NewPassword;
pub use role::Role;
pub use username::Username;

use serde::Serialize;
use serde_json::json;

use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// Collects every field's error so a client sees all of them in one 400.
#[derive(Debug, Default)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// Keeps the value, or records the error under `path`.
    pub fn check<T>(&mut self, path: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|message| {
                self.0.push(FieldError {
                    path: path.to_owned(),
                    message,
                })
            })
            .ok()
    }

    /// Records an error found outside a parser (a lookup, a rule across fields).
    pub fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// The 400 for one invalid field.
    pub fn one(path: &str, message: impl Into<String>) -> ApiError {
        let mut errors = Self::default();
        errors.add(path, message);
        errors.into()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation {
            message: "The request has invalid fields".into(),
            details: Some(json!({ "errors": errors.0 })),
        }
    }
}
