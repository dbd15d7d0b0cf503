use std::fmt;

/// 3 to 50 of `[A-Za-z0-9_-]`. Uniqueness is case-insensitive (the database index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if !(3..=50).contains(&len) {
            return Err("must be 3 to 50 characters".into());
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("may contain only letters, digits, '_' and '-'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(Username::parse("alice_B-42").is_ok());
    }

    #[test]
    fn refuses_bad_lengths_and_characters() {
        for bad in [
            "ab",
            &"a".repeat(51),
            "al ice",
            "alice@x",
            "ålice",
            "a'; DROP TABLE accounts;--",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
