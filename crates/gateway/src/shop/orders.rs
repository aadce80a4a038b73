//! Checkout, one order, the order history, and what is known of an order's confirmation.
//!
//! Placing an order is orders' saga (`PlaceOrder`), keyed by the shopper's `request_id`, so
//! sending the same checkout twice places one order. A card that is declined or stock that
//! ran out comes back as a FAILED order, not an error. An order is shown in its own
//! currency, the one it was charged in.

use bazaar_contract::notification::v1::ListNotificationsRequest;
use bazaar_contract::orders::v1::{
    GetOrderRequest, ListOrdersRequest, Order, OrderState, PlaceOrderRequest,
};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::{Address, Money};
use serde::Serialize;

use super::catalog::zero;
use super::{currency, format_time, health};
use crate::app::App;
use crate::error::GatewayError;
use crate::money::{self, CurrencyInfo, Price, USD};
use crate::upstreams::call;

/// Orders shown on one page of the history.
const HISTORY_PAGE_SIZE: i32 = 20;

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
    /// The shipping quote, in the order's currency.
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
    /// The catalog's id of the product (a slug).
    pub product_id: String,
    /// Its name when ordered.
    pub name: String,
    /// Path of its picture on this site.
    pub picture_uri: String,
    /// How many.
    pub quantity: i32,
    /// Price of one, in the order's currency.
    pub unit_price: Price,
    /// Price of the line.
    pub line_total: Price,
}

/// A page of the shopper's orders.
#[derive(Clone, Debug)]
pub struct OrderList {
    /// The orders, newest first.
    pub orders: Vec<OrderView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
}

/// What a checkout needs from the shopper; orders checks every field and names those that
/// are wrong.
#[derive(Clone, Default)]
pub struct Checkout {
    /// Idempotency key: a retry with the same key never orders twice.
    pub request_id: String,
    /// Where the confirmation goes.
    pub email: String,
    /// Where to ship.
    pub shipping_address: Address,
    /// The card to charge; passed to orders and payment, never kept or logged here.
    pub card: Card,
    /// Currency to charge in; dollars when empty.
    pub currency_code: String,
}

impl std::fmt::Debug for Checkout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkout")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

fn orders_error(status: tonic::Status) -> GatewayError {
    GatewayError::upstream("orders")(status)
}

/// Places the order: the checkout. The order comes back PLACED, PENDING or FAILED.
pub async fn place(app: &App, token: &str, checkout: Checkout) -> Result<OrderView, GatewayError> {
    let request = PlaceOrderRequest {
        request_id: checkout.request_id,
        shipping_address: Some(checkout.shipping_address),
        email: checkout.email,
        card: Some(checkout.card),
        currency_code: checkout.currency_code,
    };
    let mut client = app.upstreams.orders.clone();
    let order = client
        .place_order(call(request, app.upstreams.deadlines.checkout, Some(token)))
        .await
        .map_err(orders_error)?
        .into_inner()
        .order
        .unwrap_or_default();
    Ok(in_its_currency(app, order).await)
}

/// Whether orders is SERVING, so that a checkout can be placed: the checkout form is shown
/// only then.
pub async fn accepting(app: &App) -> bool {
    health::probe(app, "orders").await.0 == health::Health::Serving
}

async fn fetch(app: &App, token: &str, id: &str) -> Result<Order, GatewayError> {
    let mut client = app.upstreams.orders.clone();
    Ok(client
        .get_order(call(
            GetOrderRequest {
                order_id: id.to_owned(),
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(orders_error)?
        .into_inner()
        .order
        .unwrap_or_default())
}

/// One of the shopper's orders.
pub async fn get(app: &App, token: &str, id: &str) -> Result<OrderView, GatewayError> {
    let order = fetch(app, token, id).await?;
    Ok(in_its_currency(app, order).await)
}

/// One of the shopper's orders and what to say about its confirmation e-mail (empty
/// unless it was placed).
pub async fn receipt(
    app: &App,
    token: &str,
    id: &str,
) -> Result<(OrderView, String), GatewayError> {
    let order = fetch(app, token, id).await?;
    let code = currency_of(&order);
    let (info, confirmation) = tokio::join!(
        currency::info(app, &code),
        confirmation(app, token, &order.id, &order.email, order.state)
    );
    Ok((view(order, info.as_ref()), confirmation))
}

/// A page of the shopper's orders, newest first.
pub async fn list(app: &App, token: &str, page_token: &str) -> Result<OrderList, GatewayError> {
    let mut client = app.upstreams.orders.clone();
    let listed = client
        .list_orders(call(
            ListOrdersRequest {
                page_size: HISTORY_PAGE_SIZE,
                page_token: page_token.to_owned(),
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(orders_error)?
        .into_inner();
    let currencies = currency::offered(app).await;
    let orders = listed
        .orders
        .into_iter()
        .map(|order| {
            let code = currency_of(&order);
            let info = currencies.iter().find(|c| c.code == code);
            view(order, info)
        })
        .collect();
    Ok(OrderList {
        orders,
        next_page_token: listed.next_page_token,
    })
}

/// What to say about the confirmation e-mail, asked with the shopper's token (notification
/// shows a shopper only their own); notification is optional, so when it cannot be asked
/// the page says only that one will come.
async fn confirmation(app: &App, token: &str, order_id: &str, email: &str, state: i32) -> String {
    if OrderState::try_from(state) != Ok(OrderState::Placed) {
        return String::new();
    }
    let mut client = app.upstreams.notification.clone();
    let sent = client
        .list_notifications(call(
            ListNotificationsRequest {
                page_size: 1,
                page_token: String::new(),
                order_id: order_id.to_owned(),
            },
            app.upstreams.deadlines.optional,
            Some(token),
        ))
        .await;
    match sent {
        Ok(response) => match response.into_inner().notifications.into_iter().next() {
            Some(sent) => format!(
                "A confirmation was e-mailed to {} at {}.",
                sent.recipient,
                sent.send_time
                    .map(|t| format_time(t.seconds))
                    .unwrap_or_default()
            ),
            None => format!("A confirmation will be e-mailed to {email} in a moment."),
        },
        Err(status) => {
            tracing::info!(code = ?status.code(), "cannot ask notification about the confirmation");
            format!("A confirmation will be e-mailed to {email}.")
        }
    }
}

/// The code of the currency an order was charged in (empty when it has no total).
fn currency_of(order: &Order) -> String {
    order
        .total
        .as_ref()
        .map(|m| m.currency_code.clone())
        .unwrap_or_default()
}

async fn in_its_currency(app: &App, order: Order) -> OrderView {
    let info = currency::info(app, &currency_of(&order)).await;
    view(order, info.as_ref())
}

/// An order as shown, its amounts written in its own currency.
fn view(order: Order, currency: Option<&CurrencyInfo>) -> OrderView {
    let code = order
        .total
        .as_ref()
        .map_or_else(|| USD.to_owned(), |m| m.currency_code.clone());
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
