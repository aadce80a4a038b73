//! The JSON API under `/api/v1`: the same actions as the pages, for programs.
//!
//! Callers authenticate with `Authorization: Bearer <access token>` (from
//! `POST /api/v1/session/guest`, `/signup` or `/login`), never with cookies, so the API
//! needs no anti-forgery token. Every error is [`crate::error::ErrorBody`] with the HTTP
//! code mapped from the gRPC code; a service that is down is 503 with its name. Prices
//! come in the currency of `?currency=` (dollars and a `currency_note` when conversion is
//! down). The OpenAPI document (`/api/v1/openapi.json`) describes every route, and a test
//! keeps it true.
//!
//! One file per part of the shop, as the pages have ([`crate::pages`]); each handler reads
//! its input ([`extract`]), calls the service layer ([`crate::shop`]) and serializes what it
//! returns into the documented shape. The route table, [`routes`], is here.

pub mod account;
pub mod browse;
pub mod cart;
pub mod extract;
pub mod orders;
pub mod status;

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::app::AppState;
use crate::error::{ApiError, GatewayError};

/// The OpenAPI document, kept next to the code and checked by a test.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Every route of the API, relative to `/api/v1`: method, path and handler. The router is
/// built from this table, and a test checks it against the OpenAPI document both ways.
pub fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/products", get(browse::list_products)),
        (
            Method::GET,
            "/products/{product_id}",
            get(browse::get_product),
        ),
        (Method::GET, "/search", get(browse::search)),
        (Method::GET, "/categories", get(browse::categories)),
        (
            Method::GET,
            "/recommendations",
            get(browse::recommendations),
        ),
        (Method::GET, "/currencies", get(browse::currencies)),
        (Method::POST, "/session/guest", post(account::start_guest)),
        (Method::POST, "/session/signup", post(account::signup)),
        (Method::POST, "/session/login", post(account::login)),
        (Method::POST, "/session/refresh", post(account::refresh)),
        (Method::POST, "/session/logout", post(account::logout)),
        (Method::GET, "/cart", get(cart::get_cart)),
        (Method::POST, "/cart/items", post(cart::add_item)),
        (
            Method::PUT,
            "/cart/items/{product_id}",
            put(cart::set_quantity),
        ),
        (
            Method::DELETE,
            "/cart/items/{product_id}",
            delete(cart::remove_item),
        ),
        (Method::GET, "/orders", get(orders::list_orders)),
        (Method::POST, "/orders", post(orders::place_order)),
        (Method::GET, "/orders/{order_id}", get(orders::get_order)),
        (Method::GET, "/status", get(status::report)),
        (Method::GET, "/openapi.json", get(openapi)),
    ]
}

/// GET /api/v1/openapi.json.
pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// Any other path under /api/v1.
pub async fn not_found() -> ApiError {
    ApiError(GatewayError::NotFound("This API path".to_owned()))
}
