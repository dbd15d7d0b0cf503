//! Creating a privileged account (admin or moderator) with a generated password: the
//! way to make the first admin of a deployed stack, since signup only makes users.
//!
//! The password is generated here, shown once in the result, and never logged or
//! stored anywhere but as its argon2 hash.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::{
    auth::config::AuthConfig,
    auth::passwords::{PasswordError, Passwords},
    config::ConfigError,
    db::Db,
    domain::{Email, NewPassword, Role, Username},
    http::context::RequestContext,
    store::{
        StoreError,
        accounts::{self, NewAccount},
        audit::{self, AuditError, AuditEvent, EventType, Severity},
    },
};

/// 64 symbols, so one random byte's low 6 bits pick one without bias.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// 24 symbols of 6 bits: 144 bits of entropy.
const PASSWORD_CHARS: usize = 24;
/// A random password fails the policy only by lacking a character class (when the
/// composition rule is on), about one time in ten; this many tries never all fail.
const MAX_TRIES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The account exists: this command never changes an existing account.
    #[error("an account with this {0} already exists; nothing was changed")]
    Taken(&'static str),
    #[error("no randomness available")]
    Random,
    #[error("no generated password met the password policy")]
    Policy,
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("the account was created but its answer could not be written: {0}")]
    Answer(#[from] serde_json::Error),
}

/// What the command answers: the account, and its one-time password.
#[derive(Debug, serde::Serialize)]
struct Created<'a> {
    account: shared::response::Account,
    password: &'a str,
}

impl From<StoreError> for CreateAccountError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(field) => Self::Taken(field),
            other => Self::Store(other),
        }
    }
}

/// `{"role": "admin"|"moderator", "username": ..., "email": ...}`, the Lambda event's
/// `createAccount` and the CLI's flags alike.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub role: String,
    pub username: String,
    pub email: String,
}

#[derive(Debug)]
struct Parsed {
    role: Role,
    username: Username,
    email: Email,
}

impl Request {
    fn parse(&self) -> Result<Parsed, CreateAccountError> {
        // Only privileged roles: users sign up themselves.
        let role = match self.role.as_str() {
            "admin" => Role::Admin,
            "moderator" => Role::Moderator,
            other => {
                return Err(CreateAccountError::Invalid(format!(
                    "role must be admin or moderator, not {other:?}"
                )));
            }
        };
        let username = Username::parse(&self.username)
            .map_err(|e| CreateAccountError::Invalid(format!("username {e}")))?;
        let email = Email::parse(&self.email)
            .map_err(|e| CreateAccountError::Invalid(format!("email {e}")))?;
        Ok(Parsed {
            role,
            username,
            email,
        })
    }
}

fn random_password() -> Result<String, CreateAccountError> {
    let mut bytes = [0_u8; PASSWORD_CHARS];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CreateAccountError::Random)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

/// A random password that the deployment's own password policy accepts for this
/// account.
fn generate(
    auth: &AuthConfig,
    username: &str,
    email: &str,
) -> Result<NewPassword, CreateAccountError> {
    for _ in 0..MAX_TRIES {
        if let Ok(password) =
            NewPassword::parse(&random_password()?, &auth.password, &[username, email])
        {
            return Ok(password);
        }
    }
    Err(CreateAccountError::Policy)
}

/// Creates the account and returns `{account, password}`; `via` and `request_id` say
/// where the request came from in the audit log.
pub async fn run(
    db: &Db,
    request: &Request,
    via: &str,
    request_id: &str,
) -> Result<Value, CreateAccountError> {
    let parsed = request.parse()?;
    let auth = AuthConfig::from_env()?;
    let password = generate(&auth, parsed.username.as_str(), parsed.email.as_str())?;
    let hash = Passwords::new(auth.argon2)?.hash(password.expose()).await?;
    let context = RequestContext {
        request_id: request_id.to_owned(),
        client_ip: None,
        user_agent: Some(format!("migrate {via}")),
        cold_start: false,
    };
    let mut tx = db.writer_pool().begin().await.map_err(StoreError::from)?;
    let account = accounts::insert(
        &mut *tx,
        NewAccount {
            username: &parsed.username,
            email: &parsed.email,
            password_hash: &hash,
            role: parsed.role,
            first_name: None,
            last_name: None,
        },
    )
    .await?;
    audit::insert(
        &mut tx,
        &context,
        AuditEvent::new(EventType::AccountCreated, Severity::Warning, None).details(
            json!({ "createdAccountId": account.id, "roleId": account.role_id, "via": via }),
        ),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(
        account_id = account.id,
        role = parsed.role.as_str(),
        via,
        "privileged account created"
    );
    Ok(serde_json::to_value(Created {
        account: account.into(),
        password: password.expose(),
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(role: &str, username: &str, email: &str) -> Request {
        Request {
            role: role.into(),
            username: username.into(),
            email: email.into(),
        }
    }

    #[test]
    fn only_privileged_roles_and_valid_names() {
        assert!(
            request("admin", "root_admin", "root@example.com")
                .parse()
                .is_ok()
        );
        assert!(
            request("moderator", "mod-1", "m@example.com")
                .parse()
                .is_ok()
        );
        for bad in [
            request("user", "someone", "s@example.com"),
            request("root", "someone", "s@example.com"),
            request("admin", "a b", "s@example.com"),
            request("admin", "someone", "nope"),
        ] {
            assert!(bad.parse().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_long_random_and_from_the_alphabet() -> Result<(), CreateAccountError> {
        let a = random_password()?;
        let b = random_password()?;
        assert_eq!(a.chars().count(), PASSWORD_CHARS);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        Ok(())
    }

    #[test]
    fn generated_passwords_meet_even_the_composition_rule() -> Result<(), CreateAccountError> {
        let mut auth = AuthConfig::from_env()?;
        auth.password.require_composition = true;
        auth.password.min_score = 4;
        for _ in 0..20 {
            let password = generate(&auth, "root_admin", "root@example.com")?;
            assert_eq!(password.expose().chars().count(), PASSWORD_CHARS);
        }
        Ok(())
    }

    #[test]
    fn the_event_shape_is_strict() {
        let event = serde_json::json!({"role": "admin", "username": "a_b", "email": "a@b.co", "password": "x"});
        assert!(serde_json::from_value::<Request>(event).is_err());
    }
}
