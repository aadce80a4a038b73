//! The cart for programs: read it, add to it, change a quantity, remove a line. Every
//! change answers with the whole cart, priced in `?currency=`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::extract::{Bearer, Body, CurrencyParam, Params};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::shop::cart::{self, CartView};

/// The cart, priced.
#[derive(Debug, Serialize)]
pub struct CartResponse {
    pub cart: CartView,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

async fn cart_response(
    app: &App,
    bearer: &Bearer,
    currency: &CurrencyParam,
) -> Result<Json<CartResponse>, ApiError> {
    let (cart, currency_note) = cart::read(app, Some(&bearer.token), currency.code()).await?;
    Ok(Json(CartResponse {
        cart,
        currency_note,
    }))
}

/// GET /api/v1/cart.
pub async fn get_cart(
    State(app): State<AppState>,
    bearer: Bearer,
    Params(params): Params<CurrencyParam>,
) -> Result<Json<CartResponse>, ApiError> {
    cart_response(&app, &bearer, &params).await
}

/// The add-to-cart body.
#[derive(Debug, Deserialize)]
pub struct AddItemBody {
    /// The catalog's id of the product (a slug).
    pub product_id: String,
    /// How many, 1..=99.
    pub quantity: i32,
    /// Idempotency key; a retry with the same key adds once. Made up when absent.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// POST /api/v1/cart/items.
pub async fn add_item(
    State(app): State<AppState>,
    bearer: Bearer,
    Params(params): Params<CurrencyParam>,
    Body(body): Body<AddItemBody>,
) -> Result<Json<CartResponse>, ApiError> {
    cart::add(
        &app,
        &bearer.token,
        body.product_id,
        body.quantity,
        body.request_id,
    )
    .await?;
    cart_response(&app, &bearer, &params).await
}

#[derive(Debug, Deserialize)]
pub struct QuantityBody {
    /// The new quantity, 0..=99; 0 removes the line.
    pub quantity: i32,
}

/// PUT /api/v1/cart/items/{product_id}.
pub async fn set_quantity(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(product_id): Path<String>,
    Params(params): Params<CurrencyParam>,
    Body(body): Body<QuantityBody>,
) -> Result<Json<CartResponse>, ApiError> {
    cart::set_quantity(&app, &bearer.token, product_id, body.quantity).await?;
    cart_response(&app, &bearer, &params).await
}

/// DELETE /api/v1/cart/items/{product_id}.
pub async fn remove_item(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(product_id): Path<String>,
    Params(params): Params<CurrencyParam>,
) -> Result<Json<CartResponse>, ApiError> {
    cart::remove(&app, &bearer.token, product_id).await?;
    cart_response(&app, &bearer, &params).await
}
