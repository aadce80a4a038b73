//! The rules of accounts, as types: an `Email` or a `Password` that exists is acceptable.
//!
//! Parsing happens once, at the edge (the api module), and reports a
//! [`FieldViolation`] naming the request field; past that, the values cannot be invalid.

use chassis::error::FieldViolation;

/// A normalized email address: trimmed, lower-cased, at most 254 characters, no white
/// space, exactly one `@` with a non-empty local part before it and a domain after it that
/// has a dot between non-empty labels (`ada@example.com`, not `ada@localhost`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses and normalizes an email address for `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldViolation> {
        let email = text.trim().to_lowercase();
        if email.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        let length = email.chars().count();
        let valid = (3..=254).contains(&length)
            && !email.chars().any(char::is_whitespace)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && domain.split('.').all(|label| !label.is_empty())
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(FieldViolation::new(
                field,
                "must be an email address: at most 254 characters, one @, a name before it \
                 and a domain with a dot after it",
            ))
        }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy: 10..=128 characters, not equal to the email.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks a new password against the policy.
    pub fn new_for(email: Option<&Email>, text: &str) -> Result<Self, FieldViolation> {
        let length = text.chars().count();
        if length == 0 {
            return Err(FieldViolation::new("password", "is required"));
        }
        if !(10..=128).contains(&length) {
            return Err(FieldViolation::new(
                "password",
                "must be 10..=128 characters long",
            ));
        }
        if email.is_some_and(|email| text.trim().to_lowercase() == email.as_str()) {
            return Err(FieldViolation::new(
                "password",
                "must not be the email address",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The password, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name: 0..=100 characters, trimmed.
pub fn display_name(text: &str) -> Result<String, FieldViolation> {
    let name = text.trim();
    if name.chars().count() > 100 {
        return Err(FieldViolation::new(
            "display_name",
            "must be at most 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// The role name a token's `roles` claim carries for an admin (see [`crate::admin`]).
pub const ADMIN_ROLE: &str = "admin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@x.io",
            "ada@",
            "a@b@c",
            "a b@c.io",
            "ada@localhost",
            "ada@example.",
            "ada@.example.com",
            "ada@example..com",
            &format!("{}@x.io", "a".repeat(260)),
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_longest_email_is_accepted() {
        let longest = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
        assert_eq!(longest.len(), 254);
        assert!(Email::parse("email", &longest).is_ok());
        assert!(Email::parse("email", &format!("a{longest}")).is_err());
    }

    #[test]
    fn passwords_follow_the_policy() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        assert!(Password::new_for(Some(&email), "correct horse battery").is_ok());
        assert!(Password::new_for(Some(&email), "short").is_err());
        assert!(Password::new_for(Some(&email), &"x".repeat(129)).is_err());
        assert!(Password::new_for(Some(&email), "ADA@example.com").is_err());
        assert!(Password::new_for(None, "").is_err());
        assert_eq!(
            format!("{:?}", Password::new_for(None, "secret secret").unwrap()),
            "Password(<redacted>)"
        );
    }
}
