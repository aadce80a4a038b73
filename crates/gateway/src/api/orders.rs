//! Orders for programs: the checkout, one order, and the history. Placing an order is
//! keyed by the body's `request_id`, so a retry never orders twice; a declined card or
//! stock that ran out is a FAILED order (201), not an error.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use serde::{Deserialize, Serialize};

use super::extract::{Bearer, Body, Params};
use crate::app::AppState;
use crate::error::ApiError;
use crate::shop::orders::{self, Checkout, OrderView};

/// A shipping address in a checkout body.
#[derive(Debug, Default, Deserialize)]
pub struct AddressBody {
    /// Who receives the parcel.
    #[serde(default)]
    pub recipient_name: String,
    /// 1..=3 street lines.
    #[serde(default)]
    pub street_lines: Vec<String>,
    /// City, town or locality, 1..=100 characters.
    #[serde(default)]
    pub city: String,
    /// Region, where the country uses one.
    #[serde(default)]
    pub region: String,
    /// 0..=20 characters; empty only where the country has no postal codes.
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country_code: String,
}

/// A card in a checkout body; passed to orders and payment, never kept or logged here.
#[derive(Default, Deserialize)]
pub struct CardBody {
    /// The card number.
    #[serde(default)]
    pub number: String,
    /// 1..=12.
    #[serde(default)]
    pub expiry_month: i32,
    /// Four digits.
    #[serde(default)]
    pub expiry_year: i32,
    /// Card verification value.
    #[serde(default)]
    pub cvv: String,
    /// Name on the card.
    #[serde(default)]
    pub holder_name: String,
}

impl std::fmt::Debug for CardBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardBody").finish_non_exhaustive()
    }
}

/// The checkout body.
#[derive(Debug, Deserialize)]
pub struct PlaceOrderBody {
    /// Idempotency key: a retry with the same key never orders twice.
    pub request_id: String,
    /// Where the confirmation goes.
    #[serde(default)]
    pub email: String,
    /// Where to ship.
    #[serde(default)]
    pub shipping_address: AddressBody,
    /// The card to charge.
    #[serde(default)]
    pub card: CardBody,
    /// Currency to charge in; dollars when empty.
    #[serde(default)]
    pub currency_code: String,
}

#[derive(Debug, Serialize)]
pub struct OrderResponse {
    pub order: OrderView,
}

impl From<PlaceOrderBody> for Checkout {
    fn from(body: PlaceOrderBody) -> Self {
        let address = body.shipping_address;
        let card = body.card;
        Self {
            request_id: body.request_id,
            email: body.email,
            shipping_address: Address {
                recipient_name: address.recipient_name,
                street_lines: address.street_lines,
                city: address.city,
                region: address.region,
                postal_code: address.postal_code,
                country_code: address.country_code,
            },
            card: Card {
                number: card.number,
                expiry_month: card.expiry_month,
                expiry_year: card.expiry_year,
                cvv: card.cvv,
                holder_name: card.holder_name,
            },
            currency_code: body.currency_code,
        }
    }
}

/// POST /api/v1/orders: the checkout. 201 with the order, PLACED, PENDING or FAILED.
pub async fn place_order(
    State(app): State<AppState>,
    bearer: Bearer,
    Body(body): Body<PlaceOrderBody>,
) -> Result<Response, ApiError> {
    let order = orders::place(&app, &bearer.token, body.into()).await?;
    Ok((StatusCode::CREATED, Json(OrderResponse { order })).into_response())
}

/// GET /api/v1/orders/{order_id}.
pub async fn get_order(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<Json<OrderResponse>, ApiError> {
    Ok(Json(OrderResponse {
        order: orders::get(&app, &bearer.token, &id).await?,
    }))
}

/// `GET /api/v1/orders` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersParams {
    /// From a previous `next_page_token`.
    #[serde(default)]
    pub page_token: String,
}

/// A page of orders.
#[derive(Debug, Serialize)]
pub struct OrdersResponse {
    /// The caller's orders, newest first.
    pub orders: Vec<OrderView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
}

/// GET /api/v1/orders.
pub async fn list_orders(
    State(app): State<AppState>,
    bearer: Bearer,
    Params(params): Params<OrdersParams>,
) -> Result<Json<OrdersResponse>, ApiError> {
    let listed = orders::list(&app, &bearer.token, &params.page_token).await?;
    Ok(Json(OrdersResponse {
        orders: listed.orders,
        next_page_token: listed.next_page_token,
    }))
}
