//! Slugs: the ids of products and categories, `^[a-z0-9][a-z0-9-]{0,62}$`.
//!
//! The catalog makes them; cart, inventory, shipping, orders and recommendation receive
//! them and check only their shape (whether a product exists is the catalog's to say).

use super::ValueError;

/// Longest slug, in characters (all ASCII).
pub const MAX_SLUG_CHARS: usize = 63;

/// A slug: a lower-case letter or digit, then up to 62 lower-case letters, digits and dashes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

/// A product's id is a slug.
pub type ProductId = Slug;

impl Slug {
    /// Parses a slug.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        if Self::is_valid(text) {
            Ok(Self(text.to_owned()))
        } else if text.is_empty() {
            Err(ValueError::required())
        } else {
            Err(ValueError::new(
                "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and dashes)",
            ))
        }
    }

    /// Whether `text` is a slug.
    pub fn is_valid(text: &str) -> bool {
        let mut bytes = text.bytes();
        text.len() <= MAX_SLUG_CHARS
            && bytes
                .next()
                .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["a", "0", "brass-desk-lamp", "x-", "0-a", &"a".repeat(63)] {
            assert_eq!(
                Slug::parse(good).map(Slug::into_string),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "-a",
            "A",
            "Lamp",
            "brass_lamp",
            "brass lamp",
            "a.b",
            "é",
            "lámpa",
            &"a".repeat(64),
        ] {
            let error = Slug::parse(bad).unwrap_err();
            assert!(error.description().starts_with("must match"), "{bad}");
            assert_eq!(error.sub_field(), "", "{bad}");
        }
        assert_eq!(Slug::parse(""), Err(ValueError::required()));
    }

    #[test]
    fn every_short_ascii_string_is_judged_like_the_pattern() {
        // A property loop over every string of up to three characters from an alphabet
        // that has each kind of character the pattern tells apart.
        let alphabet = ['a', 'z', '0', '9', '-', 'A', '_', ' ', 'é'];
        let mut texts = vec![String::new()];
        let mut level = texts.clone();
        for _ in 0..3 {
            level = level
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(level.iter().cloned());
        }
        for text in texts {
            let mut chars = text.chars();
            let expected = chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert_eq!(Slug::is_valid(&text), expected, "{text:?}");
        }
    }
}
