//! The cart page and the forms that change the cart. Each form is a [`CsrfForm`]; each
//! answers with a redirect to the cart (303), so a reload never sends a form twice. A
//! visitor without a session has an empty cart; adding to it starts a guest session.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::form::{CsrfForm, EmptyForm};
use super::{Chrome, PageError, here, render, unavailable};
use crate::app::AppState;
use crate::error::GatewayError;
use crate::session::Session;
use crate::shop::{self, cart::CartView};

/// What the cart and checkout pages say when the cart cannot be shown.
const UNAVAILABLE: &str = "Your cart is unavailable right now";

#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    /// The header.
    pub chrome: Chrome,
    pub cart: CartView,
}

/// GET /cart.
pub async fn show(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Result<Response, PageError> {
    let back = here(&uri);
    let (mut chrome, cart) = tokio::join!(Chrome::new(&app, &session, "Your cart", &back), async {
        shop::cart::read(&app, session.token.as_deref(), &session.currency).await
    },);
    match cart {
        Ok((cart, note)) => {
            chrome.currency_note = note;
            chrome.cart_count = Some(cart.item_count);
            Ok(render(StatusCode::OK, &CartPage { chrome, cart }))
        }
        Err(error) if error.is_unavailable() => {
            chrome.cart_count = None;
            Ok(unavailable(chrome, UNAVAILABLE, &error))
        }
        Err(error) => Err(error.into()),
    }
}

/// The add-to-cart form of a product page.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    /// The catalog's id of the product (a slug).
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
        let token = session.token_or_guest(&app).await?;
        shop::cart::add(&app, &token, form.product_id, form.quantity, None).await
    }
    .await;
    after_change(&app, &session, &uri, result).await
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
        // Without a session there is no cart to change.
        let Some(token) = session.token.as_deref() else {
            return Ok(());
        };
        shop::cart::set_quantity(&app, token, product_id, form.quantity).await
    }
    .await;
    after_change(&app, &session, &uri, result).await
}

/// POST /cart/items/{product_id}/remove: removes a line.
pub async fn remove(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(product_id): Path<String>,
    uri: Uri,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let result = async {
        let Some(token) = session.token.as_deref() else {
            return Ok(());
        };
        shop::cart::remove(&app, token, product_id).await
    }
    .await;
    after_change(&app, &session, &uri, result).await
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
            let mut chrome = Chrome::new(app, session, "Your cart", &here(uri)).await;
            chrome.cart_count = None;
            Ok(unavailable(chrome, UNAVAILABLE, &error))
        }
        Err(error) => Err(error.into()),
    }
}
