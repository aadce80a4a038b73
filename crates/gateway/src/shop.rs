//! What pages and the JSON API show, fetched from the services and shaped once: products
//! with prices in the shopper's currency, the cart with its lines and subtotal, orders.
//!
//! Each function says by its type whether its service is needed: a `Result` fails the
//! request (the page or API decides how), an `Option` is an optional feature that is simply
//! left out when its service is down (recommendations). Every call has a deadline
//! ([`crate::upstreams::call`]); calls that do not depend on each other run concurrently.

use bazaar_contract::cart::v1::{Cart, GetCartRequest};
use bazaar_contract::catalog::v1::{
    BatchGetProductsRequest, GetCategoryRequest, GetProductRequest, ListCategoriesRequest,
    ListProductsRequest, Product, SearchProductsRequest,
};
use bazaar_contract::orders::v1::{Order, OrderState};
use bazaar_contract::recommendation::v1::ListRecommendationsRequest;
use bazaar_contract::types::v1::Money;
use serde::Serialize;
use tonic::Code;

use crate::App;
use crate::error::GatewayError;
use crate::money::{self, CurrencyInfo, Price, USD};
use crate::upstreams::call;

/// A product as shown: its price in the shopper's currency and in dollars.
#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    /// The product id (a slug).
    pub id: String,
    /// Its name.
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

/// A category.
#[derive(Clone, Debug, Serialize)]
pub struct CategoryView {
    /// The category id (a slug).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it holds.
    pub description: String,
}

/// A page of products.
#[derive(Clone, Debug, Serialize)]
pub struct ProductPage {
    /// The products.
    pub products: Vec<ProductView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
}

/// The shopper's cart, priced.
#[derive(Clone, Debug, Serialize)]
pub struct CartView {
    /// Its lines, oldest first.
    pub lines: Vec<CartLine>,
    /// Sum of the lines.
    pub subtotal: Price,
    /// Number of units in all.
    pub item_count: i32,
}

/// One line of the cart.
#[derive(Clone, Debug, Serialize)]
pub struct CartLine {
    /// The product.
    pub product: ProductView,
    /// How many.
    pub quantity: i32,
    /// Unit price times quantity.
    pub line_total: Price,
}

/// An order as shown.
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    /// The order id.
    pub id: String,
    /// "placed", "pending" or "failed".
    pub state: &'static str,
    /// Why it failed, for the shopper.
    pub failure_message: Option<String>,
    /// What was ordered.
    pub items: Vec<OrderItemView>,
    /// Sum of the items.
    pub subtotal: Price,
    /// Shipping.
    pub shipping_cost: Price,
    /// What was charged.
    pub total: Price,
    /// The carrier's tracking id, once shipped.
    pub tracking_id: String,
    /// Where the confirmation goes.
    pub email: String,
    /// The shipping address, one line per entry.
    pub address_lines: Vec<String>,
    /// Estimated days until delivery.
    pub estimated_delivery_days: i32,
    /// When it was placed, "YYYY-MM-DD HH:MM UTC".
    pub created: String,
}

/// One line of an order.
#[derive(Clone, Debug, Serialize)]
pub struct OrderItemView {
    /// The product id.
    pub product_id: String,
    /// Its name when ordered.
    pub name: String,
    /// Its picture.
    pub picture_uri: String,
    /// How many.
    pub quantity: i32,
    /// Price of one, in the order's currency.
    pub unit_price: Price,
    /// Price of the line.
    pub line_total: Price,
}

fn catalog_error(status: tonic::Status) -> GatewayError {
    GatewayError::upstream("catalog")(status)
}

/// Every category (the catalog has a few dozen at most).
pub async fn categories(app: &App) -> Result<Vec<CategoryView>, GatewayError> {
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
        .await
        .map_err(catalog_error)?
        .into_inner();
    Ok(response
        .categories
        .into_iter()
        .map(|c| CategoryView {
            id: c.id,
            name: c.display_name,
            description: c.description,
        })
        .collect())
}

/// One category.
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

/// A page of products, of one category or all.
pub async fn list_products(
    app: &App,
    category_id: Option<&str>,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Product>, String), GatewayError> {
    let mut client = app.upstreams.catalog.clone();
    let response = client
        .list_products(call(
            ListProductsRequest {
                page_size,
                page_token: page_token.to_owned(),
                category_id: category_id.unwrap_or_default().to_owned(),
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(catalog_error)?
        .into_inner();
    Ok((response.products, response.next_page_token))
}

/// A page of search results.
pub async fn search(
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
pub async fn product(app: &App, id: &str) -> Result<Product, GatewayError> {
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
pub async fn products(app: &App, ids: &[String]) -> Result<Vec<Product>, GatewayError> {
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

/// Products to suggest next to `context` (best sellers when empty); `None` when the
/// recommendation service (or the catalog) cannot answer in time: an optional feature.
pub async fn recommendations(app: &App, context: &[String], count: i32) -> Option<Vec<Product>> {
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

/// Prices lists of products in `target`, in one conversion; the note says when the prices
/// are in dollars because conversion failed.
pub async fn price_products(
    app: &App,
    target: &CurrencyInfo,
    lists: Vec<Vec<Product>>,
) -> (Vec<Vec<ProductView>>, Option<&'static str>) {
    let amounts: Vec<Money> = lists
        .iter()
        .flatten()
        .map(|p| p.price.clone().unwrap_or_else(|| zero(USD)))
        .collect();
    let converted = money::convert_all(&app.upstreams, target, &amounts).await;
    let usd = CurrencyInfo::usd();
    let mut prices = converted.prices.into_iter();
    let views = lists
        .into_iter()
        .map(|list| {
            list.into_iter()
                .map(|p| {
                    let price_usd = p.price.clone().unwrap_or_else(|| zero(USD));
                    let price = prices
                        .next()
                        .unwrap_or_else(|| Price::new(&price_usd, Some(&usd)));
                    ProductView {
                        price_usd: Price::new(&price_usd, Some(&usd)),
                        price,
                        id: p.id,
                        name: p.name,
                        description: p.description,
                        category_ids: p.category_ids,
                        picture_uri: p.picture_uri,
                    }
                })
                .collect()
        })
        .collect();
    (views, converted.note)
}

fn zero(currency_code: &str) -> Money {
    Money {
        currency_code: currency_code.to_owned(),
        units: 0,
        nanos: 0,
    }
}

/// The shopper's cart as the cart service has it.
pub async fn raw_cart(app: &App, token: &str) -> Result<Cart, GatewayError> {
    let mut client = app.upstreams.cart.clone();
    Ok(client
        .get_cart(call(
            GetCartRequest {},
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("cart"))?
        .into_inner()
        .cart
        .unwrap_or_default())
}

/// The number of units in the shopper's cart, for the header; `None` when the cart
/// service cannot say.
pub async fn cart_count(app: &App, token: Option<&str>) -> Option<i32> {
    let cart = raw_cart(app, token?).await.ok()?;
    Some(cart.items.iter().map(|i| i.quantity).sum())
}

/// The shopper's cart with products and prices in `target`.
pub async fn cart(
    app: &App,
    target: &CurrencyInfo,
    token: &str,
) -> Result<(CartView, Option<&'static str>), GatewayError> {
    let cart = raw_cart(app, token).await?;
    let ids: Vec<String> = cart.items.iter().map(|i| i.product_id.clone()).collect();
    let found = products(app, &ids).await?;
    let usd = CurrencyInfo::usd();
    // Lines of products the catalog no longer has are left out of the view.
    let lines: Vec<(Product, i32)> = cart
        .items
        .iter()
        .filter_map(|item| {
            found
                .iter()
                .find(|p| p.id == item.product_id)
                .map(|p| (p.clone(), item.quantity))
        })
        .collect();
    let unit_usd: Vec<Money> = lines
        .iter()
        .map(|(p, _)| p.price.clone().unwrap_or_else(|| zero(USD)))
        .collect();
    let line_usd: Vec<Money> = unit_usd
        .iter()
        .zip(&lines)
        .map(|(price, (_, quantity))| money::times(price, i64::from(*quantity)))
        .collect();
    let subtotal_usd = money::sum(USD, &line_usd);
    let mut amounts = unit_usd.clone();
    amounts.extend(line_usd.iter().cloned());
    amounts.push(subtotal_usd.clone());
    let converted = money::convert_all(&app.upstreams, target, &amounts).await;
    let n = lines.len();
    let mut prices = converted.prices;
    let subtotal = prices
        .pop()
        .unwrap_or_else(|| Price::new(&subtotal_usd, Some(&usd)));
    let line_totals = prices.split_off(n);
    let view_lines = lines
        .into_iter()
        .zip(prices)
        .zip(line_totals)
        .zip(unit_usd)
        .map(
            |((((product, quantity), price), line_total), price_usd)| CartLine {
                product: ProductView {
                    price,
                    price_usd: Price::new(&price_usd, Some(&usd)),
                    id: product.id,
                    name: product.name,
                    description: product.description,
                    category_ids: product.category_ids,
                    picture_uri: product.picture_uri,
                },
                quantity,
                line_total,
            },
        )
        .collect::<Vec<_>>();
    let item_count = view_lines.iter().map(|l| l.quantity).sum();
    Ok((
        CartView {
            lines: view_lines,
            subtotal,
            item_count,
        },
        converted.note,
    ))
}

/// An order as shown, its amounts written in its own currency.
pub fn order_view(order: Order, currency: Option<&CurrencyInfo>) -> OrderView {
    let code = order
        .total
        .as_ref()
        .map(|m| m.currency_code.clone())
        .unwrap_or_else(|| USD.to_owned());
    let usd = CurrencyInfo::usd();
    let info = currency.or(if code == USD { Some(&usd) } else { None });
    let price = |m: Option<Money>| Price::new(&m.unwrap_or_else(|| zero(&code)), info);
    let state = match OrderState::try_from(order.state) {
        Ok(OrderState::Placed) => "placed",
        Ok(OrderState::Failed) => "failed",
        _ => "pending",
    };
    let address_lines = order
        .shipping_address
        .map(|a| {
            let mut lines = vec![a.recipient_name];
            lines.extend(a.street_lines);
            let city = [a.postal_code, a.city, a.region]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            lines.push(city);
            lines.push(a.country_code);
            lines
        })
        .unwrap_or_default();
    OrderView {
        id: order.id,
        state,
        failure_message: order.failure.map(|f| f.message).filter(|m| !m.is_empty()),
        items: order
            .items
            .into_iter()
            .map(|item| {
                let unit = item.unit_price.unwrap_or_else(|| zero(&code));
                OrderItemView {
                    line_total: Price::new(&money::times(&unit, i64::from(item.quantity)), info),
                    unit_price: Price::new(&unit, info),
                    product_id: item.product_id,
                    name: item.name,
                    picture_uri: item.picture_uri,
                    quantity: item.quantity,
                }
            })
            .collect(),
        subtotal: price(order.subtotal),
        shipping_cost: price(order.shipping_cost),
        total: price(order.total),
        tracking_id: order.tracking_id,
        email: order.email,
        address_lines,
        estimated_delivery_days: order.estimated_delivery_days,
        created: order
            .create_time
            .map(|t| format_time(t.seconds))
            .unwrap_or_default(),
    }
}

/// Seconds since the Unix epoch as "YYYY-MM-DD HH:MM UTC".
pub fn format_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Days to a civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_time(1_767_225_599), "2025-12-31 23:59 UTC");
    }
}
