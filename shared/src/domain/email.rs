/// Trimmed, lowercased, at most 100 characters, syntactically valid (RFC 5322 address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if !email_address::EmailAddress::is_valid(&email) || !email.contains('.') {
            return Err("must be a valid email address".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").map(|e| e.0),
            Ok("alice@example.com".to_owned())
        );
    }

    #[test]
    fn refuses_invalid_and_long_addresses() {
        let long = format!("{}@example.com", "a".repeat(90));
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
