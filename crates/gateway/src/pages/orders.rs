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
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use serde::Deserialize;

use super::browse::PageQuery;
use super::form::CsrfForm;
use super::{Chrome, PageError, here, render, unavailable};
use crate::app::{App, AppState};
use crate::error::GatewayError;
use crate::random;
use crate::session::Session;
use crate::shop::cart::CartView;
use crate::shop::orders::{Checkout, OrderView};
use crate::shop::{self, currency};

/// What the checkout pages say when no order can be placed.
const CHECKOUT_UNAVAILABLE: &str = "Checkout is unavailable right now";
/// What the order pages say when orders cannot be read.
const ORDERS_UNAVAILABLE: &str = "Your orders are unavailable right now";

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
    /// City, town or locality, 1..=100 characters.
    #[serde(default)]
    pub city: String,
    /// State or region (optional).
    #[serde(default)]
    pub region: String,
    /// 0..=20 characters; empty only where the country has no postal codes.
    #[serde(default)]
    pub postal_code: String,
    /// ISO country code.
    #[serde(default)]
    pub country_code: String,
    /// As typed; orders checks it. Cleared before the form is shown again.
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

    /// The checkout as the service layer takes it, charged in `currency_code`; orders
    /// checks every field and names those that are wrong.
    pub fn to_checkout(&self, currency_code: &str) -> Checkout {
        let mut street_lines = vec![self.street.trim().to_owned()];
        if !self.street2.trim().is_empty() {
            street_lines.push(self.street2.trim().to_owned());
        }
        Checkout {
            request_id: self.request_id.clone(),
            shipping_address: Address {
                recipient_name: self.recipient_name.clone(),
                street_lines,
                city: self.city.clone(),
                region: self.region.clone(),
                postal_code: self.postal_code.clone(),
                country_code: self.country_code.trim().to_uppercase(),
            },
            email: self.email.trim().to_owned(),
            card: Card {
                number: self.card_number.clone(),
                expiry_month: self.expiry_month.trim().parse().unwrap_or(0),
                expiry_year: self.expiry_year.trim().parse().unwrap_or(0),
                cvv: self.cvv.trim().to_owned(),
                holder_name: self.holder_name.clone(),
            },
            currency_code: currency_code.to_owned(),
        }
    }
}

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
        request_id: random::token(),
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
    let back = here(uri);
    let (mut chrome, cart, accepting) = tokio::join!(
        Chrome::new(app, session, "Checkout", &back),
        shop::cart::read(app, session.token.as_deref(), &session.currency),
        shop::orders::accepting(app),
    );
    let (cart, note) = match cart {
        Ok(cart) => cart,
        Err(error) if error.is_unavailable() => {
            chrome.cart_count = None;
            return Ok(unavailable(chrome, CHECKOUT_UNAVAILABLE, &error));
        }
        Err(error) => return Err(error.into()),
    };
    if !accepting {
        return Ok(unavailable(
            chrome,
            CHECKOUT_UNAVAILABLE,
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
    let token = match session.token_or_guest(&app).await {
        Ok(token) => token,
        Err(error) => return checkout_unavailable(&app, &session, &uri, &error).await,
    };
    let currency = currency::target(&app, &session.currency).await.code;
    match shop::orders::place(&app, &token, form.to_checkout(&currency)).await {
        Ok(order) if order.state == "failed" => {
            let reason = order
                .failure_message
                .unwrap_or_else(|| "The order could not be placed.".to_owned());
            // A new key: the failed order is final, a new attempt is a new order.
            let form = CheckoutForm {
                request_id: random::token(),
                ..form
            };
            checkout_page(&app, &session, &uri, form, vec![reason], StatusCode::OK).await
        }
        Ok(order) => Ok(
            Redirect::to(&format!("/orders/{}?placed=1", encode_segment(&order.id)))
                .into_response(),
        ),
        Err(error) if error.is_unavailable() => {
            checkout_unavailable(&app, &session, &uri, &error).await
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

/// The "unavailable" page of the checkout.
async fn checkout_unavailable(
    app: &App,
    session: &Session,
    uri: &Uri,
    error: &GatewayError,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(app, session, "Checkout", &here(uri)).await;
    Ok(unavailable(chrome, CHECKOUT_UNAVAILABLE, error))
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
    let chrome = Chrome::new(&app, &session, "Your order", &here(&uri)).await;
    // Without a session, no order is the visitor's.
    let Some(token) = session.token.as_deref() else {
        return Err(GatewayError::NotFound("The order".to_owned()).into());
    };
    let (order, confirmation) = match shop::orders::receipt(&app, token, &id).await {
        Ok(receipt) => receipt,
        Err(error) if error.is_unavailable() => {
            return Ok(unavailable(chrome, ORDERS_UNAVAILABLE, &error));
        }
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
    Ok(render(
        StatusCode::OK,
        &OrderPage {
            chrome,
            just_placed: query.placed.is_some() && order.state != "failed",
            order,
            confirmation,
        },
    ))
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
    let chrome = Chrome::new(&app, &session, "Your orders", &here(&uri)).await;
    // Without a session there are no orders to list.
    let Some(token) = session.token.as_deref() else {
        return Ok(render(
            StatusCode::OK,
            &OrdersPage {
                chrome,
                orders: Vec::new(),
                next_page: None,
            },
        ));
    };
    let listed = match shop::orders::list(&app, token, &query.page_token).await {
        Ok(listed) => listed,
        Err(error) if error.is_unavailable() => {
            return Ok(unavailable(chrome, ORDERS_UNAVAILABLE, &error));
        }
        Err(error) => return Err(error.into()),
    };
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
            orders: listed.orders,
            next_page,
        },
    ))
}
