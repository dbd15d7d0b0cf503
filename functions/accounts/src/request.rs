//! Account request bodies, parsed into domain values (every field's error reported at
//! once).

use serde::{Deserialize, Deserializer};
use shared::{
    ApiError,
    auth::config::PasswordPolicy,
    domain::{Email, NewPassword, PersonName, Role, Username, ValidationErrors},
};
use utoipa::ToSchema;

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
fn nullable<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A role id of the roles table: 1 user, 2 admin, 3 moderator.
fn role(errors: &mut ValidationErrors, raw: i64) -> Option<Role> {
    errors.check(
        "roleId",
        i16::try_from(raw)
            .ok()
            .and_then(Role::from_id)
            .ok_or_else(|| "roleId must be 1 (user), 2 (admin) or 3 (moderator)".to_owned()),
    )
}

/// `POST /api/accounts`: an account of any role, its password set by the admin.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAccount {
    username: String,
    email: String,
    /// 12 to 128 characters, zxcvbn score at least 3.
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
    /// 1 user, 2 admin, 3 moderator.
    role_id: i64,
}

/// Hand-written so the password never reaches a log line.
impl std::fmt::Debug for CreateAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateAccount")
            .field("username", &self.username)
            .field("roleId", &self.role_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct NewAccountInput {
    pub username: Username,
    pub email: Email,
    pub password: NewPassword,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub role: Role,
}

impl CreateAccount {
    /// The password is checked against the same policy as signup, with the account's
    /// own username and email as known inputs.
    pub fn parse(self, policy: &PasswordPolicy) -> Result<NewAccountInput, ApiError> {
        let mut errors = ValidationErrors::default();
        let username = errors.check("username", Username::parse(&self.username));
        let email = errors.check("email", Email::parse(&self.email));
        let password = errors.check(
            "password",
            NewPassword::parse(&self.password, policy, &[&self.username, &self.email]),
        );
        let mut name = |path, raw: Option<String>| {
            raw.and_then(|raw| errors.check(path, PersonName::parse(&raw)))
        };
        let first_name = name("firstName", self.first_name);
        let last_name = name("lastName", self.last_name);
        let role = role(&mut errors, self.role_id);
        match (username, email, password, role) {
            (Some(username), Some(email), Some(password), Some(role)) if errors.is_empty() => {
                Ok(NewAccountInput {
                    username,
                    email,
                    password,
                    first_name,
                    last_name,
                    role,
                })
            }
            _ => Err(errors.into()),
        }
    }
}

/// `PATCH /api/accounts/{id}`: absent fields are kept; a name sent as `null` is
/// cleared; the email can be replaced, not removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAccount {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    email: Option<Option<String>>,
}

#[derive(Debug, Default)]
pub struct AccountChange {
    pub first_name: Option<Option<PersonName>>,
    pub last_name: Option<Option<PersonName>>,
    pub email: Option<Email>,
}

impl AccountChange {
    /// The names of the fields that change (for the audit log; never their values).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("firstName", self.first_name.is_some()),
            ("lastName", self.last_name.is_some()),
            ("email", self.email.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }
}

impl UpdateAccount {
    pub fn parse(self) -> Result<AccountChange, ApiError> {
        let mut errors = ValidationErrors::default();
        let mut name = |path, raw: Option<Option<String>>| match raw {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(raw)) => errors
                .check(path, PersonName::parse(&raw))
                .map(|name| Some(Some(name))),
        };
        let first_name = name("firstName", self.first_name);
        let last_name = name("lastName", self.last_name);
        let email = match self.email {
            None => Some(None),
            Some(None) => errors.check("email", Err("email cannot be removed".into())),
            Some(Some(raw)) => errors.check("email", Email::parse(&raw)).map(Some),
        };
        match (first_name, last_name, email) {
            (Some(first_name), Some(last_name), Some(email)) if errors.is_empty() => {
                Ok(AccountChange {
                    first_name,
                    last_name,
                    email,
                })
            }
            _ => Err(errors.into()),
        }
    }
}

/// `PUT /api/accounts/{id}/role`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRole {
    /// 1 user, 2 admin, 3 moderator.
    role_id: i64,
}

impl ChangeRole {
    pub fn parse(self) -> Result<Role, ApiError> {
        let mut errors = ValidationErrors::default();
        role(&mut errors, self.role_id).ok_or_else(|| errors.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy {
        min_length: 12,
        max_length: 128,
        min_score: 3,
        require_composition: false,
    };

    fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_valid_account_parses() {
        let input = body::<CreateAccount>(json!({
            "username": "mod_anna", "email": "Anna@Example.com",
            "password": "tidal orchid 42 lantern", "firstName": " Anna ", "roleId": 3,
        }))
        .parse(&POLICY)
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(input.role, Role::Moderator);
        assert_eq!(input.email.as_str(), "anna@example.com");
        assert_eq!(
            input.first_name.as_ref().map(PersonName::as_str),
            Some("Anna")
        );
        assert!(input.last_name.is_none());
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let error = body::<CreateAccount>(json!({
            "username": "a b", "email": "nope", "password": "short",
            "lastName": "", "roleId": 4,
        }))
        .parse(&POLICY);
        assert_eq!(
            error.map(|_| ()).map_err(|e| e.field_paths()),
            Err(["username", "email", "password", "lastName", "roleId"]
                .map(String::from)
                .to_vec())
        );
    }

    #[test]
    fn role_ids_outside_the_table_are_refused() {
        for bad in [0, 4, -1, 70_000] {
            assert!(
                body::<ChangeRole>(json!({"roleId": bad})).parse().is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            body::<ChangeRole>(json!({"roleId": 2})).parse().ok(),
            Some(Role::Admin)
        );
        assert!(serde_json::from_value::<ChangeRole>(json!({"roleId": 2, "x": 1})).is_err());
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        let change = body::<UpdateAccount>(json!({"firstName": null, "lastName": "Lovelace"}))
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(change.first_name, Some(None)));
        assert_eq!(
            change.last_name.flatten().as_ref().map(PersonName::as_str),
            Some("Lovelace")
        );
        assert!(change.email.is_none());
        let untouched = body::<UpdateAccount>(json!({}))
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(untouched.fields().is_empty());
    }

    #[test]
    fn an_email_cannot_be_removed_or_malformed() {
        let removed = body::<UpdateAccount>(json!({"email": null})).parse();
        assert_eq!(
            removed.map(|_| ()).map_err(|e| e.field_paths()),
            Err(vec!["email".to_owned()])
        );
        let bad = body::<UpdateAccount>(json!({"email": "x", "firstName": ""})).parse();
        assert_eq!(
            bad.map(|_| ()).map_err(|e| e.field_paths()),
            Err(vec!["firstName".to_owned(), "email".to_owned()])
        );
    }

    #[test]
    fn only_the_documented_fields_are_accepted() {
        assert!(serde_json::from_value::<UpdateAccount>(json!({"roleId": 2})).is_err());
        assert!(serde_json::from_value::<UpdateAccount>(json!({"username": "x"})).is_err());
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let request = body::<CreateAccount>(json!({
            "username": "someone", "email": "s@example.com",
            "password": "tidal orchid 42 lantern", "roleId": 1,
        }));
        assert!(!format!("{request:?}").contains("lantern"));
    }
}
