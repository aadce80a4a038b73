//! The cart page and the forms that change the cart. Each form is a [`CsrfForm`]; each
//! answers with a redirect to the cart (303), so a reload never sends a form twice.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_contract::cart::v1::{AddItemRequest, RemoveItemRequest, SetItemQuantityRequest};
use serde::Deserialize;

use super::{Chrome, PageError, here, render, unavailable};
use crate::AppState;
use crate::error::GatewayError;
use crate::session::{CsrfForm, Session, random_token};
use crate::shop::{self, CartView};
use crate::upstreams::call;

/// The cart page.
#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    /// The header.
    pub chrome: Chrome,
    /// The cart.
    pub cart: CartView,
}

/// GET /cart.
pub async fn show(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Result<Response, PageError> {
    let (mut chrome, target) = Chrome::new(&app, &session, "Your cart", &here(&uri)).await;
    let token = match session.require_token() {
        Ok(token) => token,
        Err(error) => {
            return Ok(unavailable(
                chrome,
                "Your cart is unavailable right now",
                &error,
            ));
        }
    };
    match shop::cart(&app, &target, token).await {
        Ok((cart, note)) => {
            chrome.currency_note = note;
            chrome.cart_count = Some(cart.item_count);
            Ok(render(StatusCode::OK, &CartPage { chrome, cart }))
        }
        Err(error) if error.is_unavailable() => {
            chrome.cart_count = None;
            Ok(unavailable(
                chrome,
                "Your cart is unavailable right now",
                &error,
            ))
        }
        Err(error) => Err(error.into()),
    }
}

/// The add-to-cart form of a product page.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    /// The product.
    pub product_id: String,
    /// How many, 1..=99.
    pub quantity: i32,
}

/// POST /cart/items: adds to the cart, then shows it.
pub async fn add(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let result = async {
        let token = session.require_token()?;
        let mut cart = app.upstreams.cart.clone();
        cart.add_item(call(
            AddItemRequest {
                request_id: random_token(),
                product_id: form.product_id.clone(),
                quantity: form.quantity,
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("cart"))
    }
    .await;
    after_change(&app, &session, &uri, result.map(|_| ())).await
}

/// The quantity form of a cart line.
#[derive(Debug, Deserialize)]
pub struct QuantityForm {
    /// The new quantity, 0..=99; 0 removes the line.
    pub quantity: i32,
}

/// POST /cart/items/{product_id}: sets a line's quantity.
pub async fn set_quantity(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(product_id): Path<String>,
    uri: Uri,
    CsrfForm(form): CsrfForm<QuantityForm>,
) -> Result<Response, PageError> {
    let result = async {
        let token = session.require_token()?;
        let mut cart = app.upstreams.cart.clone();
        cart.set_item_quantity(call(
            SetItemQuantityRequest {
                product_id,
                quantity: form.quantity,
            },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("cart"))
    }
    .await;
    after_change(&app, &session, &uri, result.map(|_| ())).await
}

/// A form with nothing but its anti-forgery token.
#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// POST /cart/items/{product_id}/remove: removes a line.
pub async fn remove(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(product_id): Path<String>,
    uri: Uri,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let result = async {
        let token = session.require_token()?;
        let mut cart = app.upstreams.cart.clone();
        cart.remove_item(call(
            RemoveItemRequest { product_id },
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(GatewayError::upstream("cart"))
    }
    .await;
    after_change(&app, &session, &uri, result.map(|_| ())).await
}

/// To the cart after a change; the "unavailable" page when the cart service is down.
async fn after_change(
    app: &AppState,
    session: &Session,
    uri: &Uri,
    result: Result<(), GatewayError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to("/cart").into_response()),
        Err(error) if error.is_unavailable() => {
            let (mut chrome, _) = Chrome::new(app, session, "Your cart", &here(uri)).await;
            chrome.cart_count = None;
            Ok(unavailable(
                chrome,
                "Your cart is unavailable right now",
                &error,
            ))
        }
        Err(error) => Err(error.into()),
    }
}
