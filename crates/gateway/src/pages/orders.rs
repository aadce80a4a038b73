//! Checkout, the order page (the confirmation) and the order history.
//!
//! The checkout form carries a `request_id` made when the form is shown, so sending it
//! twice (a double click, a reload) places one order: orders keys the saga by it. A card
//! that is declined, or stock that ran out, comes back as a FAILED order and the form is
//! shown again with the reason; the cart is untouched.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_contract::notification::v1::ListNotificationsRequest;
use bazaar_contract::orders::v1::{GetOrderRequest, ListOrdersRequest, PlaceOrderRequest};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use serde::Deserialize;

use super::browse::PageQuery;
use super::{Chrome, PageError, here, render, unavailable};
use crate::error::GatewayError;
use crate::session::{CsrfForm, Session, random_token};
use crate::shop::{self, CartView, OrderView};
use crate::status::{self, Health};
use crate::upstreams::call;
use crate::{App, AppState};

/// What the shopper typed into the checkout form (never the card number or CVV: those are
/// not shown again).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CheckoutForm {
    /// Idempotency key of this checkout.
    #[serde(default)]
    pub request_id: String,
    /// Where the confirmation goes.
    #[serde(default)]
    pub email: String,
    /// Who receives the parcel.
    #[serde(default)]
    pub recipient_name: String,
    /// Street and number.
    #[serde(default)]
    pub street: String,
    /// Apartment, floor (optional).
    #[serde(default)]
    pub street2: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// State or region (optional).
    #[serde(default)]
    pub region: String,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// ISO country code.
    #[serde(default)]
    pub country_code: String,
    /// Card number.
    #[serde(default)]
    pub card_number: String,
    /// Expiry month, 1..=12.
    #[serde(default)]
    pub expiry_month: String,
    /// Expiry year, four digits.
    #[serde(default)]
    pub expiry_year: String,
    /// Card verification value.
    #[serde(default)]
    pub cvv: String,
    /// Name on the card.
    #[serde(default)]
    pub holder_name: String,
}

impl CheckoutForm {
    /// The form as shown again: without the card number and CVV.
    fn redisplay(mut self) -> Self {
        self.card_number.clear();
        self.cvv.clear();
        self
    }

    /// The PlaceOrder request; orders checks every field and names those that are wrong.
    pub fn to_request(&self, currency_code: &str) -> PlaceOrderRequest {
        let mut street_lines = vec![self.street.trim().to_owned()];
        if !self.street2.trim().is_empty() {
            street_lines.push(self.street2.trim().to_owned());
        }
        PlaceOrderRequest {
            request_id: self.request_id.clone(),
            shipping_address: Some(Address {
                recipient_name: self.recipient_name.clone(),
                street_lines,
                city: self.city.clone(),
                region: self.region.clone(),
                postal_code: self.postal_code.clone(),
                country_code: self.country_code.trim().to_uppercase(),
            }),
            email: self.email.trim().to_owned(),
            card: Some(Card {
                number: self.card_number.clone(),
                expiry_month: self.expiry_month.trim().parse().unwrap_or(0),
                expiry_year: self.expiry_year.trim().parse().unwrap_or(0),
                cvv: self.cvv.trim().to_owned(),
                holder_name: self.holder_name.clone(),
            }),
            currency_code: currency_code.to_owned(),
        }
    }
}

/// The checkout page.
#[derive(Template)]
#[template(path = "checkout.html")]
pub struct CheckoutPage {
    /// The header.
    pub chrome: Chrome,
    /// What is being bought.
    pub cart: CartView,
    /// The form's values.
    pub form: CheckoutForm,
    /// What was wrong with the last attempt.
    pub errors: Vec<String>,
}

/// GET /checkout.
pub async fn show(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Result<Response, PageError> {
    let form = CheckoutForm {
        request_id: random_token(),
        country_code: "US".to_owned(),
        ..CheckoutForm::default()
    };
    checkout_page(&app, &session, &uri, form, Vec::new(), StatusCode::OK).await
}

async fn checkout_page(
    app: &App,
    session: &Session,
    uri: &Uri,
    form: CheckoutForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (mut chrome, target) = Chrome::new(app, session, "Checkout", &here(uri)).await;
    let heading = "Checkout is unavailable right now";
    let token = match session.require_token() {
        Ok(token) => token,
        Err(error) => return Ok(unavailable(chrome, heading, &error)),
    };
    let (cart, orders) = tokio::join!(
        shop::cart(app, &target, token),
        status::probe(app, "orders")
    );
    let (cart, note) = match cart {
        Ok(cart) => cart,
        Err(error) if error.is_unavailable() => {
            chrome.cart_count = None;
            return Ok(unavailable(chrome, heading, &error));
        }
        Err(error) => return Err(error.into()),
    };
    if orders.0 != Health::Serving {
        return Ok(unavailable(
            chrome,
            heading,
            &GatewayError::Unavailable("orders"),
        ));
    }
    chrome.currency_note = note;
    chrome.cart_count = Some(cart.item_count);
    Ok(render(
        status,
        &CheckoutPage {
            chrome,
            cart,
            form: form.redisplay(),
            errors,
        },
    ))
}

/// POST /checkout: places the order; to the confirmation, or back to the form.
pub async fn place(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
    CsrfForm(form): CsrfForm<CheckoutForm>,
) -> Result<Response, PageError> {
    let token = match session.require_token() {
        Ok(token) => token.to_owned(),
        Err(error) => {
            let (chrome, _) = Chrome::new(&app, &session, "Checkout", &here(&uri)).await;
            return Ok(unavailable(
                chrome,
                "Checkout is unavailable right now",
                &error,
            ));
        }
    };
    let currency = app
        .currencies
        .find(&app.upstreams, &session.currency)
        .await
        .map(|c| c.code)
        .unwrap_or_else(|| crate::money::USD.to_owned());
    let mut orders = app.upstreams.orders.clone();
    let placed = orders
        .place_order(call(
            form.to_request(&currency),
            app.upstreams.deadlines.checkout,
            Some(&token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"));
    match placed {
        Ok(response) => {
            let order = response.into_inner().order.unwrap_or_default();
            let view = shop::order_view(order, None);
            if view.state == "failed" {
                let reason = view
                    .failure_message
                    .unwrap_or_else(|| "The order could not be placed.".to_owned());
                // A new key: the failed order is final, a new attempt is a new order.
                let form = CheckoutForm {
                    request_id: random_token(),
                    ..form
                };
                return checkout_page(&app, &session, &uri, form, vec![reason], StatusCode::OK)
                    .await;
            }
            Ok(
                Redirect::to(&format!("/orders/{}?placed=1", encode_segment(&view.id)))
                    .into_response(),
            )
        }
        Err(error) if error.is_unavailable() => {
            let (chrome, _) = Chrome::new(&app, &session, "Checkout", &here(&uri)).await;
            Ok(unavailable(
                chrome,
                "Checkout is unavailable right now",
                &error,
            ))
        }
        Err(error) => {
            let mut errors: Vec<String> = error
                .field_violations()
                .into_iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect();
            if errors.is_empty() {
                errors.push(error.message());
            }
            checkout_page(&app, &session, &uri, form, errors, error.http_status()).await
        }
    }
}

/// A path segment, percent-encoded where needed.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `?placed=1` after a checkout.
#[derive(Debug, Default, Deserialize)]
pub struct OrderQuery {
    /// Set right after the order was placed.
    #[serde(default)]
    pub placed: Option<String>,
}

/// An order: the confirmation after checkout, or a page of the history.
#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    /// The header.
    pub chrome: Chrome,
    /// The order.
    pub order: OrderView,
    /// Whether the shopper just placed it.
    pub just_placed: bool,
    /// What is known about the confirmation e-mail.
    pub confirmation: String,
}

/// GET /orders/{id}.
pub async fn order(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<OrderQuery>,
    uri: Uri,
) -> Result<Response, PageError> {
    let (chrome, _) = Chrome::new(&app, &session, "Your order", &here(&uri)).await;
    let heading = "Your orders are unavailable right now";
    let token = match session.require_token() {
        Ok(token) => token,
        Err(error) => return Ok(unavailable(chrome, heading, &error)),
    };
    let mut orders = app.upstreams.orders.clone();
    let found = orders
        .get_order(call(
            GetOrderRequest {
                order_id: id.clone(),
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"));
    let order = match found {
        Ok(response) => response.into_inner().order.unwrap_or_default(),
        Err(error) if error.is_unavailable() => return Ok(unavailable(chrome, heading, &error)),
        Err(error)
            if matches!(
                error.code(),
                tonic::Code::InvalidArgument | tonic::Code::NotFound
            ) =>
        {
            return Err(GatewayError::NotFound("The order".to_owned()).into());
        }
        Err(error) => return Err(error.into()),
    };
    let currency_code = order
        .total
        .as_ref()
        .map(|m| m.currency_code.clone())
        .unwrap_or_default();
    let (currency, confirmation) = tokio::join!(
        app.currencies.find(&app.upstreams, &currency_code),
        confirmation(&app, &order.id, &order.email, order.state)
    );
    let view = shop::order_view(order, currency.as_ref());
    Ok(render(
        StatusCode::OK,
        &OrderPage {
            chrome,
            just_placed: query.placed.is_some() && view.state != "failed",
            order: view,
            confirmation,
        },
    ))
}

/// What to say about the confirmation e-mail; notification is optional, so when it cannot
/// be asked the page says only that one will come.
async fn confirmation(app: &App, order_id: &str, email: &str, state: i32) -> String {
    use bazaar_contract::orders::v1::OrderState;
    if OrderState::try_from(state) != Ok(OrderState::Placed) {
        return String::new();
    }
    let mut notification = app.upstreams.notification.clone();
    let sent = notification
        .list_notifications(call(
            ListNotificationsRequest {
                page_size: 1,
                page_token: String::new(),
                order_id: order_id.to_owned(),
            },
            app.upstreams.deadlines.optional,
            None,
        ))
        .await;
    match sent {
        Ok(response) => match response.into_inner().notifications.into_iter().next() {
            Some(sent) => format!(
                "A confirmation was e-mailed to {} at {}.",
                sent.recipient,
                sent.send_time
                    .map(|t| shop::format_time(t.seconds))
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

/// The order history.
#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage {
    /// The header.
    pub chrome: Chrome,
    /// The shopper's orders, newest first.
    pub orders: Vec<OrderView>,
    /// The link to older orders, if any.
    pub next_page: Option<String>,
}

/// GET /orders.
pub async fn history(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, PageError> {
    let (chrome, _) = Chrome::new(&app, &session, "Your orders", &here(&uri)).await;
    let heading = "Your orders are unavailable right now";
    let token = match session.require_token() {
        Ok(token) => token,
        Err(error) => return Ok(unavailable(chrome, heading, &error)),
    };
    let mut orders = app.upstreams.orders.clone();
    let listed = orders
        .list_orders(call(
            ListOrdersRequest {
                page_size: 20,
                page_token: query.page_token,
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"));
    let listed = match listed {
        Ok(response) => response.into_inner(),
        Err(error) if error.is_unavailable() => return Ok(unavailable(chrome, heading, &error)),
        Err(error) => return Err(error.into()),
    };
    let currencies = app.currencies.list(&app.upstreams).await;
    let orders = listed
        .orders
        .into_iter()
        .map(|order| {
            let code = order
                .total
                .as_ref()
                .map(|m| m.currency_code.clone())
                .unwrap_or_default();
            let info = currencies.iter().find(|c| c.code == code);
            shop::order_view(order, info)
        })
        .collect();
    let next_page = (!listed.next_page_token.is_empty()).then(|| {
        format!(
            "/orders?{}",
            serde_urlencoded::to_string([("page_token", listed.next_page_token.as_str())])
                .unwrap_or_default()
        )
    });
    Ok(render(
        StatusCode::OK,
        &OrdersPage {
            chrome,
            orders,
            next_page,
        },
    ))
}
