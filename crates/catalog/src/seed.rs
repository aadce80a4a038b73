//! The product data the catalog starts with (`data/products.json`, embedded in the binary).
//!
//! Read once, on the first start against an empty database, and checked as strictly as any
//! request: a bad row is a build-time test failure, never a half-loaded catalog.

use std::collections::HashSet;

use serde::Deserialize;

use crate::domain::Slug;

/// The embedded seed file.
pub const PRODUCTS_JSON: &str = include_str!("../data/products.json");

/// A row of `categories` in `products.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct SeedCategory {
    /// Slug id.
    pub id: String,
    /// Name shown to shoppers.
    pub display_name: String,
    /// Plain-text description.
    pub description: String,
}

/// A row of `products` in `products.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct SeedProduct {
    /// Slug id.
    pub id: String,
    /// Name shown to shoppers.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// Price in US dollars, a decimal with at most two fractional digits (`"49.99"`).
    pub price_usd: String,
    /// Ids of its categories.
    pub category_ids: Vec<String>,
    /// File name of its picture among the shop's published pictures (`assets/pictures/` at
    /// the workspace root); the storefront serves it as `/pictures/<file>`.
    pub picture: String,
}

/// The whole seed.
#[derive(Clone, Debug, Deserialize)]
pub struct Seed {
    /// Every category, each id once.
    pub categories: Vec<SeedCategory>,
    /// Every product, each id once; its categories are among `categories`.
    pub products: Vec<SeedProduct>,
}

/// Why the seed is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Not JSON of the expected shape.
    #[error("products.json is not valid")]
    Json(#[from] serde_json::Error),
    /// A row breaks a rule.
    #[error("products.json: {0}")]
    Invalid(String),
}

impl Seed {
    /// The embedded seed, checked.
    pub fn embedded() -> Result<Self, SeedError> {
        Self::from_json(PRODUCTS_JSON)
    }

    /// Parses and checks a seed.
    pub fn from_json(json: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(json)?;
        let invalid = |message: String| SeedError::Invalid(message);
        let mut categories = HashSet::new();
        for category in &seed.categories {
            Slug::parse(&category.id)
                .map_err(|e| invalid(format!("category {:?}: {e}", category.id)))?;
            if !categories.insert(category.id.as_str()) {
                return Err(invalid(format!("category {:?} listed twice", category.id)));
            }
        }
        let mut products = HashSet::new();
        for product in &seed.products {
            Slug::parse(&product.id)
                .map_err(|e| invalid(format!("product {:?}: {e}", product.id)))?;
            if !products.insert(product.id.as_str()) {
                return Err(invalid(format!("product {:?} listed twice", product.id)));
            }
            if product.name.trim().is_empty() || product.name.chars().count() > 120 {
                return Err(invalid(format!(
                    "product {:?}: name must be 1..=120 characters",
                    product.id
                )));
            }
            parse_usd(&product.price_usd)
                .ok_or_else(|| invalid(format!("product {:?}: bad price", product.id)))?;
            for category in &product.category_ids {
                if !categories.contains(category.as_str()) {
                    return Err(invalid(format!(
                        "product {:?}: unknown category {category:?}",
                        product.id
                    )));
                }
            }
        }
        Ok(seed)
    }
}

/// Parses a positive US-dollar price with at most two decimals into `(units, nanos)`.
pub fn parse_usd(text: &str) -> Option<(i64, i32)> {
    let (whole, cents) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || cents.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 12
    {
        return None;
    }
    let units: i64 = whole.parse().ok()?;
    let cents: i32 = if cents.is_empty() {
        0
    } else {
        format!("{cents:0<2}").parse().ok()?
    };
    (units > 0 || cents > 0).then_some((units, cents * 10_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_seed_is_valid_and_large_enough() {
        let seed = Seed::embedded().expect("embedded seed is valid");
        assert!(seed.products.len() >= 40);
        assert!(seed.categories.len() >= 4);
        for product in &seed.products {
            assert!(!product.description.is_empty(), "{}", product.id);
            let picture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../assets/pictures")
                .join(&product.picture);
            assert!(picture.exists(), "{} has no picture", product.id);
        }
    }

    #[test]
    fn prices_parse_to_whole_cents() {
        assert_eq!(parse_usd("49.99"), Some((49, 990_000_000)));
        assert_eq!(parse_usd("5"), Some((5, 0)));
        assert_eq!(parse_usd("0.5"), Some((0, 500_000_000)));
        for bad in ["", "0", "0.00", "-1", "1.234", "1,5", "abc", ".5"] {
            assert_eq!(parse_usd(bad), None, "{bad}");
        }
    }
}
