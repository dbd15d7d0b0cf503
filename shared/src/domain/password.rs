use secrecy::{ExposeSecret, SecretString};

use crate::auth::config::PasswordPolicy;

/// A password that meets the policy: length in characters, zxcvbn score with the
/// account's own username and email as known inputs, and optionally the composition
/// rule. Never printed.
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str, policy: &PasswordPolicy, user_inputs: &[&str]) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < policy.min_length || len > policy.max_length {
            return Err(format!(
                "must be {} to {} characters",
                policy.min_length, policy.max_length
            ));
        }
        if policy.require_composition {
            let has = |f: fn(&char) -> bool| raw.chars().any(|c| f(&c));
            if !(has(char::is_ascii_uppercase)
                && has(char::is_ascii_lowercase)
                && has(char::is_ascii_digit)
                && has(|c| !c.is_alphanumeric()))
            {
                return Err("must mix upper and lower case letters, digits and symbols".into());
            }
        }
        let score = u8::from(zxcvbn::zxcvbn(raw, user_inputs).score());
        if score < policy.min_score {
            return Err(format!(
                "is too easy to guess (strength {score} of 4, at least {} required)",
                policy.min_score
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy {
        min_length: 12,
        max_length: 128,
        min_score: 3,
        require_composition: false,
    };

    #[test]
    fn strong_passphrase_passes() {
        assert!(NewPassword::parse("correct horse battery staple", &POLICY, &[]).is_ok());
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(NewPassword::parse("short", &POLICY, &[]).is_err());
        assert!(NewPassword::parse(&"x".repeat(129), &POLICY, &[]).is_err());
    }

    #[test]
    fn guessable_passwords_fail_even_when_long() {
        assert!(NewPassword::parse("passwordpassword", &POLICY, &[]).is_err());
    }

    #[test]
    fn the_users_own_name_does_not_count_as_strength() {
        let name = "zephyrine_quokka";
        assert!(NewPassword::parse("zephyrine_quokka1", &POLICY, &[name]).is_err());
    }

    #[test]
    fn composition_rule_applies_only_when_enabled() {
        let strict = PasswordPolicy {
            require_composition: true,
            ..POLICY
        };
        assert!(NewPassword::parse("correct horse battery staple", &strict, &[]).is_err());
        assert!(NewPassword::parse("Correct horse 9 battery staple!", &strict, &[]).is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = NewPassword::parse("correct horse battery staple", &POLICY, &[]);
        assert!(!format!("{password:?}").contains("horse"));
    }
}
