//! The catalog's rules, as types: an id or a query that exists past the edge is valid.
//!
//! Product and category ids are slugs, the contract's own value ([`Slug`]); the search query
//! and the batch limit are the catalog's.

use chassis::error::FieldViolation;

pub use bazaar_contract::values::Slug;

/// Longest search query, in characters, after trimming.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words of a query that are matched; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 16;
/// Most ids in one BatchGetProducts call.
pub const MAX_BATCH: usize = 100;

/// A search query: 1..=200 characters, split into lower-cased words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    text: String,
    words: Vec<String>,
}

impl SearchQuery {
    /// Parses the `query` field.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new("query", "must not be empty or blank"));
        }
        if trimmed.chars().count() > MAX_QUERY_CHARS {
            return Err(FieldViolation::new(
                "query",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut words: Vec<String> = Vec::new();
        for word in trimmed.split_whitespace().map(fold) {
            if !words.contains(&word) && words.len() < MAX_QUERY_WORDS {
                words.push(word);
            }
        }
        Ok(Self {
            text: trimmed.to_owned(),
            words,
        })
    }

    /// The query as given, trimmed (what page tokens are bound to).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The distinct, case-folded words to match.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// Case folding used for both the stored text and the query, so the two always agree.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_trimmed_folded_and_deduplicated() {
        let query = SearchQuery::parse("  Brass LAMP brass ").unwrap();
        assert_eq!(query.text(), "Brass LAMP brass");
        assert_eq!(query.words(), ["brass", "lamp"]);
        assert!(SearchQuery::parse("   ").is_err());
        assert!(SearchQuery::parse(&"x".repeat(201)).is_err());
        assert!(SearchQuery::parse(&"é".repeat(200)).is_ok());
    }
}
