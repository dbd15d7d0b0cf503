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

    /// The address as logs may show it: the first character of the local part, `***`,
    /// then the domain (`j***@example.com`). Enough to tell accounts apart in an
    /// incident, not enough to harvest addresses from the logs.
    pub fn masked(&self) -> String {
        // The last `@` splits: a quoted local part may hold others.
        match self.0.rsplit_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().map(String::from).unwrap_or_default();
                format!("{first}***@{domain}")
            }
            // Unreachable for a parsed address; hide it whole rather than guess.
            None => "***".into(),
        }
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
    fn masks_all_but_the_first_character_of_the_local_part() {
        let masked = |raw: &str| Email::parse(raw).map(|e| e.masked());
        assert_eq!(
            masked("jane.doe@example.com"),
            Ok("j***@example.com".into())
        );
        assert_eq!(masked("J@Example.com"), Ok("j***@example.com".into()));
        assert_eq!(masked("ünï@example.org"), Ok("ü***@example.org".into()));
        assert_eq!(
            masked("\"a@b\"@example.com"),
            Ok("\"***@example.com".into())
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
