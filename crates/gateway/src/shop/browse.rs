//! Browsing: the home page's content, a category's products, search results, a product,
//! recommendations; everything priced in the shopper's currency. These need only the
//! catalog: prices in another currency and recommendations are extras that go when their
//! service does.
//!
//! Each action resolves the shopper's currency while it fetches the products, then prices
//! everything it shows in one conversion ([`catalog`]). The categories, pages of the
//! product list and the best sellers come from the [`shelves`](super::shelves), which keep
//! the services' answers for a moment; a single category, a search and a product are asked
//! for every time.

use std::sync::Arc;

use bazaar_contract::catalog::v1::{GetCategoryRequest, ListCategoriesRequest};
use serde::Serialize;

use super::catalog::{self, ProductView, catalog_error};
use super::currency;
use crate::app::App;
use crate::error::GatewayError;
use crate::upstreams::call;

#[derive(Clone, Debug, Serialize)]
pub struct CategoryView {
    /// The category id (a slug).
    pub id: String,
    /// Name shown to shoppers (the catalog's `display_name`).
    pub name: String,
    /// What it holds.
    pub description: String,
}

/// A page of products, priced.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub products: Vec<ProductView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// What the home page shows.
#[derive(Clone, Debug)]
pub struct Home {
    /// Every category.
    pub categories: Vec<CategoryView>,
    /// A page of all products.
    pub products: Vec<ProductView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
    /// Best sellers; `None` when the recommendation service is unavailable.
    pub recommended: Option<Vec<ProductView>>,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// A product, priced, with what to suggest next to it.
#[derive(Clone, Debug)]
pub struct ProductDetail {
    pub product: ProductView,
    /// Related products; `None` when none were asked for or the recommendation service is
    /// unavailable.
    pub recommended: Option<Vec<ProductView>>,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// Recommendations, priced.
#[derive(Clone, Debug)]
pub struct Recommended {
    /// The products, best first; empty when the service is unavailable.
    pub products: Vec<ProductView>,
    /// Whether the recommendation service answered.
    pub available: bool,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// Every category (the catalog has a few dozen at most), as kept on the
/// [`shelves`](super::shelves) for a moment.
pub async fn categories(app: &App) -> Result<Vec<CategoryView>, GatewayError> {
    let categories = app
        .shelves
        .categories
        .get_or_fetch(&(), || fetch_categories(app))
        .await
        .map_err(catalog_error)?;
    Ok(categories.as_ref().clone())
}

async fn fetch_categories(app: &App) -> Result<Arc<Vec<CategoryView>>, tonic::Status> {
    let mut client = app.upstreams.catalog.clone();
    let response = client
        .list_categories(call(
            ListCategoriesRequest {
                page_size: 100,
                page_token: String::new(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await?
        .into_inner();
    Ok(Arc::new(
        response
            .categories
            .into_iter()
            .map(|c| CategoryView {
                id: c.id,
                name: c.display_name,
                description: c.description,
            })
            .collect(),
    ))
}

/// The category `id`, asked with the critical deadline; `NotFound` when there is none.
pub async fn category(app: &App, id: &str) -> Result<CategoryView, GatewayError> {
    let mut client = app.upstreams.catalog.clone();
    let category = client
        .get_category(call(
            GetCategoryRequest {
                category_id: id.to_owned(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(catalog_error)?
        .into_inner()
        .category
        .ok_or_else(|| GatewayError::NotFound(format!("Category {id:?}")))?;
    Ok(CategoryView {
        id: category.id,
        name: category.display_name,
        description: category.description,
    })
}

/// The home page: every category, a page of all products and `recommendations` best
/// sellers, in `currency`.
pub async fn home(
    app: &App,
    currency: &str,
    page_size: i32,
    page_token: &str,
    recommendations: i32,
) -> Result<Home, GatewayError> {
    let (target, categories, listing, recommended) = tokio::join!(
        currency::target(app, currency),
        categories(app),
        catalog::list(app, None, page_size, page_token),
        catalog::recommended(app, &[], recommendations),
    );
    let (products, next_page_token) = listing?;
    let categories = categories?;
    let available = recommended.is_some();
    let (mut priced, currency_note) = catalog::price(
        app,
        &target,
        vec![products, recommended.unwrap_or_default()],
    )
    .await;
    let recommended = priced.pop().filter(|_| available);
    Ok(Home {
        categories,
        products: priced.pop().unwrap_or_default(),
        next_page_token,
        recommended,
        currency_note,
    })
}

/// A page of products, of one category or all, in `currency`.
pub async fn products(
    app: &App,
    category_id: Option<&str>,
    page_size: i32,
    page_token: &str,
    currency: &str,
) -> Result<Listing, GatewayError> {
    let (listing, target) = tokio::join!(
        catalog::list(app, category_id, page_size, page_token),
        currency::target(app, currency),
    );
    let (products, next_page_token) = listing?;
    let (mut priced, currency_note) = catalog::price(app, &target, vec![products]).await;
    Ok(Listing {
        products: priced.pop().unwrap_or_default(),
        next_page_token,
        currency_note,
    })
}

/// A page of the products that match `query`, in `currency`.
pub async fn search(
    app: &App,
    query: &str,
    page_size: i32,
    page_token: &str,
    currency: &str,
) -> Result<Listing, GatewayError> {
    let (found, target) = tokio::join!(
        catalog::search(app, query, page_size, page_token),
        currency::target(app, currency),
    );
    let (products, next_page_token) = found?;
    let (mut priced, currency_note) = catalog::price(app, &target, vec![products]).await;
    Ok(Listing {
        products: priced.pop().unwrap_or_default(),
        next_page_token,
        currency_note,
    })
}

/// One product in `currency`, with `recommendations` related products when asked for.
pub async fn product(
    app: &App,
    id: &str,
    currency: &str,
    recommendations: Option<i32>,
) -> Result<ProductDetail, GatewayError> {
    let context = [id.to_owned()];
    let (product, target, recommended) = tokio::join!(
        catalog::product(app, id),
        currency::target(app, currency),
        async {
            match recommendations {
                Some(count) => catalog::recommended(app, &context, count).await,
                None => None,
            }
        },
    );
    let product = product?;
    let available = recommended.is_some();
    let (mut priced, currency_note) = catalog::price(
        app,
        &target,
        vec![vec![product], recommended.unwrap_or_default()],
    )
    .await;
    let recommended = priced.pop().filter(|_| available);
    let product = priced
        .pop()
        .and_then(|mut list| list.pop())
        .ok_or_else(|| GatewayError::NotFound(format!("Product {id:?}")))?;
    Ok(ProductDetail {
        product,
        recommended,
        currency_note,
    })
}

/// `count` products to suggest next to `context` (best sellers when empty), in `currency`:
/// an optional feature, so never an error, only not `available`.
pub async fn recommendations(
    app: &App,
    context: &[String],
    count: i32,
    currency: &str,
) -> Recommended {
    let (found, target) = tokio::join!(
        catalog::recommended(app, context, count),
        currency::target(app, currency),
    );
    let available = found.is_some();
    let (mut priced, currency_note) =
        catalog::price(app, &target, vec![found.unwrap_or_default()]).await;
    Recommended {
        products: priced.pop().unwrap_or_default(),
        available,
        currency_note,
    }
}
