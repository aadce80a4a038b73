//! The recommendation's rules, as types, with no I/O: the context of a request (product ids,
//! the contract's slugs), why a product is recommended, and where a page ends.

use std::cmp::Reverse;

use chassis::error::{self, FieldViolation};

pub use bazaar_contract::values::ProductId;

/// Most context products in one request.
pub const MAX_CONTEXT: usize = 50;

/// The products a shopper is looking at: 0..=50 valid ids, duplicates removed, in the
/// order first given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context(Vec<ProductId>);

impl Context {
    /// Parses the `product_ids` field, with one violation per bad id
    /// (`product_ids[3]`), or one for the whole field when there are too many.
    pub fn parse(ids: &[String]) -> Result<Self, Vec<FieldViolation>> {
        if ids.len() > MAX_CONTEXT {
            return Err(vec![FieldViolation::new(
                "product_ids",
                format!("at most {MAX_CONTEXT} product ids, got {}", ids.len()),
            )]);
        }
        let mut products = error::parse_each("product_ids", ids, ProductId::parse)?;
        // Keep each product's first place only.
        let mut seen = std::collections::HashSet::with_capacity(products.len());
        products.retain(|id| seen.insert(id.clone()));
        Ok(Self(products))
    }

    /// The distinct products, in the order first given.
    pub fn products(&self) -> &[ProductId] {
        &self.0
    }

    /// Whether `id` is one of them.
    pub fn contains(&self, id: &ProductId) -> bool {
        self.0.contains(id)
    }
}

/// Why a product is recommended, best reason first; the numbers are the contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Bought in the same orders as a context product.
    BoughtTogether = 1,
    /// In a category of a context product.
    SameCategory = 2,
    /// A best seller.
    Popular = 3,
}

impl Reason {
    fn from_number(number: u8) -> Option<Self> {
        match number {
            1 => Some(Reason::BoughtTogether),
            2 => Some(Reason::SameCategory),
            3 => Some(Reason::Popular),
            _ => None,
        }
    }
}

/// A recommended product, with the count that ranks it within its reason (orders bought
/// together with the context, or units sold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub product: ProductId,
    /// Why.
    pub reason: Reason,
    /// The count that ranks it within its reason; higher first.
    pub score: u64,
}

/// The place of a recommendation in a listing: reason, then higher score, then id. Counts
/// only grow as orders are learnt, so a product's rank only ever moves up: a listing
/// continued after a rank never shows a product twice.
pub type Rank = (Reason, Reverse<u64>, ProductId);

impl Recommendation {
    /// Its place in the listing.
    pub fn rank(&self) -> Rank {
        (self.reason, Reverse(self.score), self.product.clone())
    }
}

/// Where the previous page ended, as carried in a page token: the last rank shown, and
/// whether that page knew the context's categories (see [`crate::ranking`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The last rank shown.
    pub after: Rank,
    /// Whether that page was built with the catalog's categories.
    pub with_categories: bool,
}

impl Cursor {
    /// `<reason>/<score>/<id>/<c or ->`.
    pub fn encode(&self) -> String {
        let (reason, Reverse(score), id) = &self.after;
        let categories = if self.with_categories { "c" } else { "-" };
        format!("{}/{score}/{}/{categories}", *reason as u8, id.as_str())
    }

    /// The inverse of [`Cursor::encode`]; `None` for anything it does not write.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let reason = Reason::from_number(parts.next()?.parse().ok()?)?;
        let score = parts.next()?.parse().ok()?;
        let id = ProductId::parse(parts.next()?).ok()?;
        let with_categories = match parts.next()? {
            "c" => true,
            "-" => false,
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            after: (reason, Reverse(score), id),
            with_categories,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_name_each_bad_id_and_drop_duplicates() {
        let ids = |list: &[&str]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        let context = Context::parse(&ids(&["b", "a", "b"])).unwrap();
        assert_eq!(context.products().len(), 2);
        assert_eq!(context.products()[0].as_str(), "b");
        let fields: Vec<_> = Context::parse(&ids(&["ok", "Bad", "ok", ""]))
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["product_ids[1]", "product_ids[3]"]);
        let many: Vec<String> = (0..51).map(|i| format!("p{i}")).collect();
        let fields: Vec<_> = Context::parse(&many)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["product_ids"]);
        assert!(Context::parse(&many[..50]).is_ok());
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor {
            after: (
                Reason::SameCategory,
                Reverse(7),
                ProductId::parse("mug").unwrap(),
            ),
            with_categories: true,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for junk in [
            "",
            "4/1/a/c",
            "1/x/a/c",
            "1/1/A/c",
            "1/1/a/x",
            "1/1/a/c/d",
            "1/1/a",
        ] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn ranks_put_better_reasons_and_higher_scores_first() {
        let id = |s: &str| ProductId::parse(s).unwrap();
        let rank = |reason, score, product: &str| {
            Recommendation {
                product: id(product),
                reason,
                score,
            }
            .rank()
        };
        assert!(rank(Reason::BoughtTogether, 1, "z") < rank(Reason::SameCategory, 9, "a"));
        assert!(rank(Reason::BoughtTogether, 5, "z") < rank(Reason::BoughtTogether, 1, "a"));
        assert!(rank(Reason::Popular, 5, "a") < rank(Reason::Popular, 5, "b"));
    }
}
