//! What every shopper sees alike, kept for a moment: the categories, pages of products and
//! the best sellers, each in a [`Cache`] with the same short time to live
//! (`--browse-cache-ms`, 2 s by default).
//!
//! The home page shows all three, and every shopper's home page is the same apart from the
//! header's cart count and the currency the prices are written in. Asking the catalog and
//! the recommendation service for the same answers on every page view is most of what a
//! home page costs; keeping them for two seconds makes that one call per key every two
//! seconds, whatever the traffic. What is kept is the services' answers, in dollars, before
//! pricing: the conversion into the shopper's currency and everything that depends on the
//! shopper (the session, the cart) are done for each request, never kept here.
//!
//! What this means for shoppers: a product's name or price, a category, or the list of best
//! sellers may be up to the time to live old on the home page, on category pages and in
//! the API's product lists (never on a product page, the cart or the checkout, which ask
//! the catalog every time; an order is always priced by the orders service). A catalog or
//! recommendation service that stops answering is noticed once what was kept expires.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::catalog::v1::Product;

use super::browse::CategoryView;
use crate::cache::Cache;

/// Pages of products kept at most (one per category, page size and page).
const LISTINGS: usize = 256;
/// Lists of best sellers kept at most (one per length asked for).
const BEST_SELLER_LISTS: usize = 16;

/// A page of products and the token of the next page.
pub type Page = Arc<(Vec<Product>, String)>;

/// Which page of products: category (empty for all), page size, page token.
pub type PageKey = (String, i32, String);

/// The caches of what every shopper sees alike.
#[derive(Debug)]
pub struct Shelves {
    /// Every category.
    pub(super) categories: Cache<(), Arc<Vec<CategoryView>>, tonic::Status>,
    /// Pages of products.
    pub(super) listings: Cache<PageKey, Page, tonic::Status>,
    /// The best sellers, by how many were asked for. A failure carries nothing: the home
    /// page goes without them.
    pub(super) best_sellers: Cache<i32, Arc<Vec<Product>>, ()>,
}

impl Shelves {
    /// Shelves that keep what they are given for `ttl` (zero: not at all).
    pub fn new(ttl: Duration) -> Self {
        Self {
            categories: Cache::new("categories", ttl, 1),
            listings: Cache::new("listings", ttl, LISTINGS),
            best_sellers: Cache::new("best_sellers", ttl, BEST_SELLER_LISTS),
        }
    }

    /// How long what is kept is served.
    pub fn ttl(&self) -> Duration {
        self.categories.ttl()
    }
}
