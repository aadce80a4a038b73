//! The shopper's cart: read and priced, changed, and the guest's cart merged into the
//! account at log-in.
//!
//! Every call acts for the shopper with their access token; the cart service knows whose
//! cart it is from the token alone. A change that must not happen twice (adding) carries an
//! idempotency key.

use bazaar_contract::cart::v1::{
    AddItemRequest, Cart, GetCartRequest, MergeGuestCartRequest, RemoveItemRequest,
    SetItemQuantityRequest,
};
use bazaar_contract::catalog::v1::Product;
use bazaar_contract::types::v1::Money;
use serde::Serialize;

use super::catalog::{self, ProductView};
use super::currency;
use crate::app::App;
use crate::error::GatewayError;
use crate::money::{self, CurrencyInfo, Price, USD};
use crate::random;
use crate::upstreams::call;

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

#[derive(Clone, Debug, Serialize)]
pub struct CartLine {
    pub product: ProductView,
    /// How many.
    pub quantity: i32,
    /// Unit price times quantity.
    pub line_total: Price,
}

fn cart_error(status: tonic::Status) -> GatewayError {
    GatewayError::upstream("cart")(status)
}

/// The shopper's cart as the cart service has it.
async fn fetch(app: &App, token: &str) -> Result<Cart, GatewayError> {
    let mut client = app.upstreams.cart.clone();
    Ok(client
        .get_cart(call(
            GetCartRequest {},
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(cart_error)?
        .into_inner()
        .cart
        .unwrap_or_default())
}

/// The number of units in the shopper's cart, for a page's header: 0 without a session
/// (the visitor has no cart yet), `None` when the cart service cannot say.
pub async fn count(app: &App, token: Option<&str>) -> Option<i32> {
    let Some(token) = token else {
        return Some(0);
    };
    let cart = fetch(app, token).await.ok()?;
    Some(cart.items.iter().map(|i| i.quantity).sum())
}

/// The shopper's cart with its products, priced in `currency`; the note says when the
/// prices are in dollars because conversion failed. Lines of products the catalog no
/// longer has are left out. Without a session (`token` `None`) the cart is empty, and
/// neither identity nor the cart service is asked.
pub async fn read(
    app: &App,
    token: Option<&str>,
    currency: &str,
) -> Result<(CartView, Option<&'static str>), GatewayError> {
    let (lines, target) = tokio::join!(
        async {
            let Some(token) = token else {
                return Ok(Vec::new());
            };
            let cart = fetch(app, token).await?;
            let ids: Vec<String> = cart.items.iter().map(|i| i.product_id.clone()).collect();
            let found = catalog::products(app, &ids).await?;
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
            Ok::<_, GatewayError>(lines)
        },
        currency::target(app, currency),
    );
    Ok(price(app, &target, lines?).await)
}

/// Prices the lines, their totals and the subtotal in `target`, in one conversion. The
/// arithmetic is done exactly, in dollars, before converting.
async fn price(
    app: &App,
    target: &CurrencyInfo,
    lines: Vec<(Product, i32)>,
) -> (CartView, Option<&'static str>) {
    let usd = CurrencyInfo::usd();
    let unit_usd: Vec<Money> = lines.iter().map(|(p, _)| catalog::price_usd(p)).collect();
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
    let lines = lines
        .into_iter()
        .zip(prices)
        .zip(line_totals)
        .zip(unit_usd)
        .map(
            |((((product, quantity), price), line_total), price_usd)| CartLine {
                product: ProductView::new(product, price, &price_usd),
                quantity,
                line_total,
            },
        )
        .collect::<Vec<_>>();
    let item_count = lines.iter().map(|l| l.quantity).sum();
    (
        CartView {
            lines,
            subtotal,
            item_count,
        },
        converted.note,
    )
}

/// Adds `quantity` (1..=99) of a product. `request_id` makes a retry add once; a fresh one
/// is made when the caller has none.
pub async fn add(
    app: &App,
    token: &str,
    product_id: String,
    quantity: i32,
    request_id: Option<String>,
) -> Result<(), GatewayError> {
    let mut client = app.upstreams.cart.clone();
    client
        .add_item(call(
            AddItemRequest {
                request_id: request_id.unwrap_or_else(random::token),
                product_id,
                quantity,
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(cart_error)?;
    Ok(())
}

/// Sets a line's quantity, 0..=99; 0 removes the line.
pub async fn set_quantity(
    app: &App,
    token: &str,
    product_id: String,
    quantity: i32,
) -> Result<(), GatewayError> {
    let mut client = app.upstreams.cart.clone();
    client
        .set_item_quantity(call(
            SetItemQuantityRequest {
                product_id,
                quantity,
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(cart_error)?;
    Ok(())
}

/// Removes a line.
pub async fn remove(app: &App, token: &str, product_id: String) -> Result<(), GatewayError> {
    let mut client = app.upstreams.cart.clone();
    client
        .remove_item(call(
            RemoveItemRequest { product_id },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(cart_error)?;
    Ok(())
}

/// Moves a guest's cart into the account the shopper just signed up for or logged in to
/// (`user_token`), proven with the guest's own token. Whether it was merged: a cart that
/// cannot be merged (cart down) never stops a log-in.
pub async fn merge_guest(app: &App, guest_token: &str, user_token: &str) -> bool {
    let mut client = app.upstreams.cart.clone();
    let merged = client
        .merge_guest_cart(call(
            MergeGuestCartRequest {
                guest_access_token: guest_token.to_owned(),
            },
            app.upstreams.deadlines.critical,
            Some(user_token),
        ))
        .await;
    match merged {
        Ok(_) => true,
        Err(status) => {
            tracing::warn!(code = ?status.code(), "the guest cart could not be merged at log-in");
            false
        }
    }
}
