//! The catalog's products as the shop shows them, and the calls that fetch them: from the
//! catalog, and the product ids that recommendation suggests.
//!
//! A product is shown with its price in the shopper's currency and in dollars. Every price
//! of one page is converted in one go (`price`), so a page is never in two currencies:
//! when conversion fails, all of it is in dollars, with a note.

use std::sync::Arc;

use bazaar_contract::catalog::v1::{
    BatchGetProductsRequest, GetProductRequest, ListProductsRequest, Product, SearchProductsRequest,
};
use bazaar_contract::recommendation::v1::ListRecommendationsRequest;
use bazaar_contract::types::v1::Money;
use serde::Serialize;
use tonic::Code;

use super::shelves::{Page, PageKey};

use crate::app::App;
use crate::error::GatewayError;
use crate::money::{self, CurrencyInfo, Price, USD};
use crate::upstreams::call;

/// A product as shown: its price in the shopper's currency and in dollars.
#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    /// The product id (a slug).
    pub id: String,
    /// Name shown to shoppers.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// Ids of its categories.
    pub category_ids: Vec<String>,
    /// Path of its picture on this site.
    pub picture_uri: String,
    /// The price in the shopper's currency (or in dollars when conversion is down).
    pub price: Price,
    /// The catalog's price, in dollars.
    pub price_usd: Price,
}

impl ProductView {
    /// `product` with its price already converted.
    pub(super) fn new(product: Product, price: Price, price_usd: &Money) -> Self {
        Self {
            price,
            price_usd: Price::new(price_usd, Some(&CurrencyInfo::usd())),
            id: product.id,
            name: product.name,
            description: product.description,
            category_ids: product.category_ids,
            picture_uri: product.picture_uri,
        }
    }
}

pub(super) fn catalog_error(status: tonic::Status) -> GatewayError {
    GatewayError::upstream("catalog")(status)
}

/// A page of products, of one category or all, and the token of the next page, as kept
/// on the [`shelves`](super::shelves) for a moment.
pub(super) async fn list(
    app: &App,
    category_id: Option<&str>,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Product>, String), GatewayError> {
    let key = (
        category_id.unwrap_or_default().to_owned(),
        page_size,
        page_token.to_owned(),
    );
    let page = app
        .shelves
        .listings
        .get_or_fetch(&key, || fetch_page(app, &key))
        .await
        .map_err(catalog_error)?;
    Ok(page.as_ref().clone())
}

async fn fetch_page(app: &App, key: &PageKey) -> Result<Page, tonic::Status> {
    let (category_id, page_size, page_token) = key;
    let mut client = app.upstreams.catalog.clone();
    let response = client
        .list_products(call(
            ListProductsRequest {
                page_size: *page_size,
                page_token: page_token.clone(),
                category_id: category_id.clone(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await?
        .into_inner();
    Ok(Arc::new((response.products, response.next_page_token)))
}

/// A page of search results, and the token of the next page.
pub(super) async fn search(
    app: &App,
    query: &str,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Product>, String), GatewayError> {
    let mut client = app.upstreams.catalog.clone();
    let response = client
        .search_products(call(
            SearchProductsRequest {
                query: query.to_owned(),
                page_size,
                page_token: page_token.to_owned(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(catalog_error)?
        .into_inner();
    Ok((response.products, response.next_page_token))
}

/// One product.
pub(super) async fn product(app: &App, id: &str) -> Result<Product, GatewayError> {
    let mut client = app.upstreams.catalog.clone();
    client
        .get_product(call(
            GetProductRequest {
                product_id: id.to_owned(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(catalog_error)?
        .into_inner()
        .product
        .ok_or_else(|| GatewayError::NotFound(format!("Product {id:?}")))
}

/// Products by id, in order, leaving out those the catalog no longer has.
pub(super) async fn products(app: &App, ids: &[String]) -> Result<Vec<Product>, GatewayError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut client = app.upstreams.catalog.clone();
    let all = client
        .batch_get_products(call(
            BatchGetProductsRequest {
                product_ids: ids.to_vec(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await;
    match all {
        Ok(response) => Ok(response.into_inner().products),
        // All or nothing: one unknown id fails the batch, so fetch one by one and keep
        // those that exist.
        Err(status) if status.code() == Code::NotFound => {
            let each = ids.iter().map(|id| product(app, id));
            let mut found = Vec::new();
            for result in futures_util::future::join_all(each).await {
                match result {
                    Ok(product) => found.push(product),
                    Err(GatewayError::Upstream { status, .. })
                        if status.code() == Code::NotFound => {}
                    Err(other) => return Err(other),
                }
            }
            Ok(found)
        }
        Err(status) => Err(catalog_error(status)),
    }
}

/// Products to suggest next to `context` (best sellers when empty, as kept on the
/// [`shelves`](super::shelves) for a moment); `None` when the recommendation service (or
/// the catalog) cannot answer in time: an optional feature.
pub(super) async fn recommended(app: &App, context: &[String], count: i32) -> Option<Vec<Product>> {
    if !context.is_empty() {
        return fetch_recommended(app, context, count).await;
    }
    let best = app
        .shelves
        .best_sellers
        .get_or_fetch(&count, || async {
            fetch_recommended(app, &[], count)
                .await
                .map(Arc::new)
                .ok_or(())
        })
        .await
        .ok()?;
    Some(best.as_ref().clone())
}

async fn fetch_recommended(app: &App, context: &[String], count: i32) -> Option<Vec<Product>> {
    let mut client = app.upstreams.recommendation.clone();
    let response = client
        .list_recommendations(call(
            ListRecommendationsRequest {
                product_ids: context.to_vec(),
                page_size: count,
                page_token: String::new(),
            },
            app.upstreams.deadlines.optional,
            None,
        ))
        .await;
    let ids: Vec<String> = match response {
        Ok(response) => response
            .into_inner()
            .recommendations
            .into_iter()
            .map(|r| r.product_id)
            .collect(),
        Err(status) => {
            tracing::info!(code = ?status.code(), "no recommendations");
            return None;
        }
    };
    products(app, &ids).await.ok()
}

/// The catalog's price of a product, in dollars (zero if it has none).
pub(super) fn price_usd(product: &Product) -> Money {
    product.price.clone().unwrap_or_else(|| zero(USD))
}

/// Zero in `currency_code`.
pub(super) fn zero(currency_code: &str) -> Money {
    Money {
        currency_code: currency_code.to_owned(),
        units: 0,
        nanos: 0,
    }
}

/// Prices lists of products in `target`, in one conversion; the note says when the prices
/// are in dollars because conversion failed.
pub(super) async fn price(
    app: &App,
    target: &CurrencyInfo,
    lists: Vec<Vec<Product>>,
) -> (Vec<Vec<ProductView>>, Option<&'static str>) {
    let amounts: Vec<Money> = lists.iter().flatten().map(price_usd).collect();
    let converted = money::convert_all(&app.upstreams, target, &amounts).await;
    let usd = CurrencyInfo::usd();
    let mut prices = converted.prices.into_iter();
    let views = lists
        .into_iter()
        .map(|list| {
            list.into_iter()
                .map(|p| {
                    let price_usd = price_usd(&p);
                    let price = prices
                        .next()
                        .unwrap_or_else(|| Price::new(&price_usd, Some(&usd)));
                    ProductView::new(p, price, &price_usd)
                })
                .collect()
        })
        .collect();
    (views, converted.note)
}
