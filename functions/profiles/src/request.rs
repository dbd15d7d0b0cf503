//! Profile request bodies, parsed into validated values (every field's error reported
//! at once).

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use shared::{
    ApiError,
    domain::{
        ValidationErrors,
        content::{ProfileDetails, ProfileName},
    },
};
use utoipa::ToSchema;

/// A field that was sent, even as `null`: a `null` then fails validation ("details
/// must be a JSON object") instead of passing for an absent field.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A new profile of the caller's account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProfile {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// A JSON object of at most 16 KiB.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object, nullable = false)]
    details: Option<Value>,
}

/// PATCH: what is absent is kept; `details` replaces the whole object (no merge, so a
/// client can remove keys).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateProfile {
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    name: Option<String>,
    /// Replaces the whole object: a JSON object of at most 16 KiB.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object, nullable = false)]
    details: Option<Value>,
}

#[derive(Debug)]
pub struct NewProfile {
    pub name: ProfileName,
    pub details: ProfileDetails,
}

#[derive(Debug, Default)]
pub struct ProfileChange {
    pub name: Option<ProfileName>,
    pub details: Option<ProfileDetails>,
}

fn details(errors: &mut ValidationErrors, raw: Option<Value>) -> Option<Option<ProfileDetails>> {
    match raw {
        None => Some(None),
        Some(raw) => errors
            .check("details", ProfileDetails::parse(raw))
            .map(Some),
    }
}

impl CreateProfile {
    pub fn parse(self) -> Result<NewProfile, ApiError> {
        let mut errors = ValidationErrors::default();
        let name = errors.check("name", ProfileName::parse(&self.name));
        let details = details(&mut errors, self.details);
        match (name, details) {
            (Some(name), Some(details)) if errors.is_empty() => Ok(NewProfile {
                name,
                details: match details {
                    Some(details) => details,
                    None => ProfileDetails::parse(json!({})).map_err(ApiError::internal)?,
                },
            }),
            _ => Err(errors.into()),
        }
    }
}

impl UpdateProfile {
    pub fn parse(self) -> Result<ProfileChange, ApiError> {
        let mut errors = ValidationErrors::default();
        let name = match self.name {
            Some(raw) => errors.check("name", ProfileName::parse(&raw)).map(Some),
            None => Some(None),
        };
        let details = details(&mut errors, self.details);
        match (name, details) {
            (Some(name), Some(details)) if errors.is_empty() => Ok(ProfileChange { name, details }),
            _ => Err(errors.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value) -> Result<NewProfile, ApiError> {
        serde_json::from_value::<CreateProfile>(body)
            .map_err(|e| ApiError::validation(e.to_string()))?
            .parse()
    }

    fn update(body: Value) -> Result<ProfileChange, ApiError> {
        serde_json::from_value::<UpdateProfile>(body)
            .map_err(|e| ApiError::validation(e.to_string()))?
            .parse()
    }

    #[test]
    fn details_default_to_an_empty_object_and_names_are_trimmed() {
        let profile = create(json!({"name": "  Gardening  "})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(profile.name.as_str(), "Gardening");
        assert_eq!(profile.details.as_json(), &json!({}));
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let error = create(json!({"name": " ", "details": [1, 2]}));
        assert_eq!(
            error.map(|_| ()).map_err(|e| e.field_paths()),
            Err(vec!["name".to_owned(), "details".to_owned()])
        );
        let too_long = create(json!({"name": "x".repeat(101)}));
        assert_eq!(
            too_long.map(|_| ()).map_err(|e| e.field_paths()),
            Err(vec!["name".to_owned()])
        );
        let big = create(json!({"name": "ok", "details": {"bio": "x".repeat(17_000)}}));
        assert_eq!(
            big.map(|_| ()).map_err(|e| e.field_paths()),
            Err(vec!["details".to_owned()])
        );
    }

    #[test]
    fn a_null_is_not_an_absent_field() {
        assert!(create(json!({"name": "ok", "details": null})).is_err());
        assert!(update(json!({"details": null})).is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_value::<CreateProfile>(json!({"name": "a", "accountId": 7})).is_err()
        );
        assert!(serde_json::from_value::<UpdateProfile>(json!({"deleted": true})).is_err());
    }

    #[test]
    fn a_patch_names_only_what_changes() {
        let change = update(json!({"details": {"bio": "hi"}})).unwrap_or_else(|e| panic!("{e}"));
        assert!(change.name.is_none());
        assert_eq!(
            change.details.map(|d| d.as_json().clone()),
            Some(json!({"bio": "hi"}))
        );
        let empty = update(json!({})).unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.name.is_none() && empty.details.is_none());
    }
}
