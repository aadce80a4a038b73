//! Browsing for programs: products, search, one product, categories, recommendations and
//! the currencies on offer. Prices are in `?currency=` (dollars when absent, not offered,
//! or when conversion is down, then with a `currency_note`).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::extract::{CurrencyParam, Params};
use crate::app::AppState;
use crate::error::ApiError;
use crate::money::CurrencyInfo;
use crate::shop::browse::{self, CategoryView, Listing};
use crate::shop::catalog::ProductView;
use crate::shop::currency;

/// Products on a page unless `page_size` says otherwise.
const DEFAULT_PAGE_SIZE: i32 = 20;
/// Recommendations answered.
const RECOMMENDATIONS: i32 = 5;

/// A page of products.
#[derive(Debug, Serialize)]
pub struct ProductsResponse {
    pub products: Vec<ProductView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

impl From<Listing> for ProductsResponse {
    fn from(listing: Listing) -> Self {
        Self {
            products: listing.products,
            next_page_token: listing.next_page_token,
            currency_note: listing.currency_note,
        }
    }
}

/// `GET /api/v1/products` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Only this category.
    #[serde(default)]
    pub category_id: Option<String>,
    /// At most this many (default 20).
    #[serde(default)]
    pub page_size: Option<i32>,
    /// From a previous `next_page_token`.
    #[serde(default)]
    pub page_token: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// GET /api/v1/products.
pub async fn list_products(
    State(app): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<ProductsResponse>, ApiError> {
    let listing = browse::products(
        &app,
        params.category_id.as_deref(),
        params.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        &params.page_token,
        params.currency.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(Json(listing.into()))
}

/// `GET /api/v1/search` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// The words to look for.
    #[serde(default)]
    pub q: String,
    /// At most this many (default 20).
    #[serde(default)]
    pub page_size: Option<i32>,
    /// From a previous `next_page_token`.
    #[serde(default)]
    pub page_token: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// GET /api/v1/search.
pub async fn search(
    State(app): State<AppState>,
    Params(params): Params<SearchParams>,
) -> Result<Json<ProductsResponse>, ApiError> {
    let listing = browse::search(
        &app,
        &params.q,
        params.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        &params.page_token,
        params.currency.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(Json(listing.into()))
}

#[derive(Debug, Serialize)]
pub struct ProductResponse {
    pub product: ProductView,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// GET /api/v1/products/{product_id}.
pub async fn get_product(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Params(params): Params<CurrencyParam>,
) -> Result<Json<ProductResponse>, ApiError> {
    let detail = browse::product(&app, &id, params.code(), None).await?;
    Ok(Json(ProductResponse {
        product: detail.product,
        currency_note: detail.currency_note,
    }))
}

/// Every category.
#[derive(Debug, Serialize)]
pub struct CategoriesResponse {
    pub categories: Vec<CategoryView>,
}

/// GET /api/v1/categories.
pub async fn categories(State(app): State<AppState>) -> Result<Json<CategoriesResponse>, ApiError> {
    Ok(Json(CategoriesResponse {
        categories: browse::categories(&app).await?,
    }))
}

/// `GET /api/v1/recommendations` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct RecommendationParams {
    /// Context products, comma-separated.
    #[serde(default)]
    pub product_ids: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RecommendationsResponse {
    /// The products, best first; empty when the service is unavailable.
    pub products: Vec<ProductView>,
    /// Whether the recommendation service answered.
    pub available: bool,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// GET /api/v1/recommendations: an optional feature, so never an error when the service is
/// down, only `available: false`.
pub async fn recommendations(
    State(app): State<AppState>,
    Params(params): Params<RecommendationParams>,
) -> Json<RecommendationsResponse> {
    let context: Vec<String> = chassis::config::split_addresses(&params.product_ids);
    let found = browse::recommendations(
        &app,
        &context,
        RECOMMENDATIONS,
        params.currency.as_deref().unwrap_or_default(),
    )
    .await;
    Json(RecommendationsResponse {
        products: found.products,
        available: found.available,
        currency_note: found.currency_note,
    })
}

/// The currencies on offer.
#[derive(Debug, Serialize)]
pub struct CurrenciesResponse {
    /// The currencies (only USD when the currency service is unavailable).
    pub currencies: Vec<CurrencyInfo>,
}

/// GET /api/v1/currencies.
pub async fn currencies(State(app): State<AppState>) -> Json<CurrenciesResponse> {
    Json(CurrenciesResponse {
        currencies: currency::offered(&app).await.to_vec(),
    })
}
