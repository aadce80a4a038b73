//! The JSON API under `/api/v1`: the same actions as the pages, for programs.
//!
//! Callers authenticate with `Authorization: Bearer <access token>` (from
//! `POST /api/v1/session/guest`, `/signup` or `/login`), never with cookies, so the API
//! needs no anti-forgery token. Every error is [`crate::error::ErrorBody`] with the HTTP
//! code mapped from the gRPC code; a service that is down is 503 with its name. Prices
//! come in the currency of `?currency=` (dollars and a `currency_note` when conversion is
//! down). The OpenAPI document (`/api/v1/openapi.json`) describes every route, and a test
//! keeps it true.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use bazaar_contract::cart::v1::{
    AddItemRequest, MergeGuestCartRequest, RemoveItemRequest, SetItemQuantityRequest,
};
use bazaar_contract::identity::v1::{
    LogInRequest, LogOutRequest, RefreshSessionRequest, SignUpRequest, StartGuestSessionRequest,
};
use bazaar_contract::orders::v1::{GetOrderRequest, ListOrdersRequest, PlaceOrderRequest};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use chassis::auth::{Caller, CallerKind};
use chassis::error::FieldViolation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, GatewayError};
use crate::money::{CurrencyInfo, USD};
use crate::session::random_token;
use crate::shop::{self, CartView, CategoryView, OrderView, ProductView};
use crate::upstreams::call;
use crate::{App, AppState};

/// The OpenAPI document, kept next to the code and checked by a test.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// A JSON body; a body that does not parse is a JSON error, like every other.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(GatewayError::Invalid(vec![FieldViolation::new(
                "body",
                rejection.body_text(),
            )])
            .into()),
        }
    }
}

/// A query string; one that does not parse is a JSON error.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(GatewayError::Invalid(vec![FieldViolation::new(
                "query",
                rejection.body_text(),
            )])
            .into()),
        }
    }
}

/// The caller of a shopper's call, from a verified `Authorization: Bearer` token.
#[derive(Debug)]
pub struct Bearer {
    /// The token, to pass on.
    pub token: String,
    /// Who it names.
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chassis::auth::bearer_token(v).ok())
            .ok_or(GatewayError::Unauthenticated)?
            .to_owned();
        let caller = app
            .upstreams
            .verifier
            .verify(&token)
            .await
            .map_err(|_| GatewayError::Unauthenticated)?;
        Ok(Self { token, caller })
    }
}

/// A bearer token that is optional (a guest's, at sign-up and log-in): absent or invalid
/// means none.
impl axum::extract::OptionalFromRequestParts<AppState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Self as FromRequestParts<AppState>>::from_request_parts(parts, app)
                .await
                .ok(),
        )
    }
}

/// `?currency=EUR`: the currency to price in.
#[derive(Debug, Default, Deserialize)]
pub struct CurrencyParam {
    /// ISO 4217 code; dollars when absent or not offered.
    #[serde(default)]
    pub currency: Option<String>,
}

async fn target(app: &App, code: Option<&str>) -> CurrencyInfo {
    match code {
        Some(code) if code != USD => app
            .currencies
            .find(&app.upstreams, &code.to_uppercase())
            .await
            .unwrap_or_else(CurrencyInfo::usd),
        _ => CurrencyInfo::usd(),
    }
}

/// A page of products.
#[derive(Debug, Serialize)]
pub struct ProductsResponse {
    /// The products.
    pub products: Vec<ProductView>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// `GET /api/v1/products` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Only this category.
    #[serde(default)]
    pub category_id: Option<String>,
    /// At most this many (default 20).
    #[serde(default)]
    pub page_size: Option<i32>,
    /// From a previous `next_page_token`.
    #[serde(default)]
    pub page_token: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// GET /api/v1/products.
pub async fn list_products(
    State(app): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<ProductsResponse>, ApiError> {
    let (listing, target) = tokio::join!(
        shop::list_products(
            &app,
            params.category_id.as_deref(),
            params.page_size.unwrap_or(20),
            &params.page_token
        ),
        target(&app, params.currency.as_deref())
    );
    let (products, next_page_token) = listing?;
    let (mut priced, currency_note) = shop::price_products(&app, &target, vec![products]).await;
    Ok(Json(ProductsResponse {
        products: priced.pop().unwrap_or_default(),
        next_page_token,
        currency_note,
    }))
}

/// `GET /api/v1/search` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// The words to look for.
    #[serde(default)]
    pub q: String,
    /// At most this many (default 20).
    #[serde(default)]
    pub page_size: Option<i32>,
    /// From a previous `next_page_token`.
    #[serde(default)]
    pub page_token: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// GET /api/v1/search.
pub async fn search(
    State(app): State<AppState>,
    Params(params): Params<SearchParams>,
) -> Result<Json<ProductsResponse>, ApiError> {
    let (found, target) = tokio::join!(
        shop::search(
            &app,
            &params.q,
            params.page_size.unwrap_or(20),
            &params.page_token
        ),
        target(&app, params.currency.as_deref())
    );
    let (products, next_page_token) = found?;
    let (mut priced, currency_note) = shop::price_products(&app, &target, vec![products]).await;
    Ok(Json(ProductsResponse {
        products: priced.pop().unwrap_or_default(),
        next_page_token,
        currency_note,
    }))
}

/// One product.
#[derive(Debug, Serialize)]
pub struct ProductResponse {
    /// The product.
    pub product: ProductView,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// GET /api/v1/products/{product_id}.
pub async fn get_product(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Params(params): Params<CurrencyParam>,
) -> Result<Json<ProductResponse>, ApiError> {
    let (product, target) = tokio::join!(
        shop::product(&app, &id),
        target(&app, params.currency.as_deref())
    );
    let (mut priced, currency_note) =
        shop::price_products(&app, &target, vec![vec![product?]]).await;
    let product = priced
        .pop()
        .and_then(|mut list| list.pop())
        .ok_or_else(|| GatewayError::NotFound(format!("Product {id:?}")))?;
    Ok(Json(ProductResponse {
        product,
        currency_note,
    }))
}

/// Every category.
#[derive(Debug, Serialize)]
pub struct CategoriesResponse {
    /// The categories.
    pub categories: Vec<CategoryView>,
}

/// GET /api/v1/categories.
pub async fn categories(State(app): State<AppState>) -> Result<Json<CategoriesResponse>, ApiError> {
    Ok(Json(CategoriesResponse {
        categories: shop::categories(&app).await?,
    }))
}

/// `GET /api/v1/recommendations` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct RecommendationParams {
    /// Context products, comma-separated.
    #[serde(default)]
    pub product_ids: String,
    /// Currency to price in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Recommendations.
#[derive(Debug, Serialize)]
pub struct RecommendationsResponse {
    /// The products, best first; empty when the service is unavailable.
    pub products: Vec<ProductView>,
    /// Whether the recommendation service answered.
    pub available: bool,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

/// GET /api/v1/recommendations: an optional feature, so never an error when the service is
/// down, only `available: false`.
pub async fn recommendations(
    State(app): State<AppState>,
    Params(params): Params<RecommendationParams>,
) -> Json<RecommendationsResponse> {
    let context: Vec<String> = chassis::config::split_addresses(&params.product_ids);
    let (found, target) = tokio::join!(
        shop::recommendations(&app, &context, 5),
        target(&app, params.currency.as_deref())
    );
    let available = found.is_some();
    let (mut priced, currency_note) =
        shop::price_products(&app, &target, vec![found.unwrap_or_default()]).await;
    Json(RecommendationsResponse {
        products: priced.pop().unwrap_or_default(),
        available,
        currency_note,
    })
}

/// The currencies on offer.
#[derive(Debug, Serialize)]
pub struct CurrenciesResponse {
    /// The currencies (only USD when the currency service is unavailable).
    pub currencies: Vec<CurrencyInfo>,
}

/// GET /api/v1/currencies.
pub async fn currencies(State(app): State<AppState>) -> Json<CurrenciesResponse> {
    Json(CurrenciesResponse {
        currencies: app.currencies.list(&app.upstreams).await.to_vec(),
    })
}

/// A session, as the API hands it out.
#[derive(Debug, Serialize)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <access_token>`; lives 15 minutes.
    pub access_token: String,
    /// Trade it at `POST /api/v1/session/refresh` for a new access token.
    pub refresh_token: String,
    /// Seconds since the Unix epoch when the access token expires.
    pub access_token_expire_time: i64,
    /// The user id.
    pub user_id: String,
    /// "user" or "guest".
    pub kind: &'static str,
}

async fn session_response(
    app: &App,
    session: Option<bazaar_contract::identity::v1::Session>,
) -> Result<SessionResponse, ApiError> {
    let session = session.ok_or_else(|| GatewayError::Upstream {
        service: "identity",
        status: tonic::Status::internal("no session in the answer"),
    })?;
    let caller = app
        .upstreams
        .verifier
        .verify(&session.access_token)
        .await
        .map_err(|_| GatewayError::Upstream {
            service: "identity",
            status: tonic::Status::internal("the new token does not verify"),
        })?;
    Ok(SessionResponse {
        access_token_expire_time: session
            .access_token_expire_time
            .map(|t| t.seconds)
            .unwrap_or_default(),
        access_token: session.access_token,
        refresh_token: session.refresh_token,
        user_id: caller.user_id,
        kind: match caller.kind {
            CallerKind::User => "user",
            CallerKind::Guest => "guest",
        },
    })
}

/// POST /api/v1/session/guest.
pub async fn start_guest(
    State(app): State<AppState>,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .start_guest_session(call(
            StartGuestSessionRequest {},
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(GatewayError::upstream("identity"))?
        .into_inner()
        .session;
    Ok((
        StatusCode::CREATED,
        Json(session_response(&app, session).await?),
    ))
}

/// Sign-up and log-in bodies.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Display name (sign-up only).
    #[serde(default)]
    pub display_name: String,
}

/// A session opened by sign-up or log-in, and what became of the guest's cart.
#[derive(Debug, Serialize)]
pub struct LoggedIn {
    /// The new session.
    #[serde(flatten)]
    pub session: SessionResponse,
    /// Whether a guest cart (from the request's guest token) was merged into the account.
    pub guest_cart_merged: bool,
}

async fn merge_guest(app: &App, guest: Option<&Bearer>, user_token: &str) -> bool {
    let Some(guest) = guest.filter(|g| g.caller.kind == CallerKind::Guest) else {
        return false;
    };
    let mut cart = app.upstreams.cart.clone();
    match cart
        .merge_guest_cart(call(
            MergeGuestCartRequest {
                guest_access_token: guest.token.clone(),
            },
            app.upstreams.deadlines.critical,
            Some(user_token),
        ))
        .await
    {
        Ok(_) => true,
        Err(status) => {
            tracing::warn!(code = ?status.code(), "the guest cart could not be merged");
            false
        }
    }
}

/// POST /api/v1/session/signup (with a guest's bearer token, its cart is merged).
pub async fn signup(
    State(app): State<AppState>,
    guest: Option<Bearer>,
    Body(body): Body<Credentials>,
) -> Result<(StatusCode, Json<LoggedIn>), ApiError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .sign_up(call(
            SignUpRequest {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(GatewayError::upstream("identity"))?
        .into_inner()
        .session;
    let session = session_response(&app, session).await?;
    let guest_cart_merged = merge_guest(&app, guest.as_ref(), &session.access_token).await;
    Ok((
        StatusCode::CREATED,
        Json(LoggedIn {
            session,
            guest_cart_merged,
        }),
    ))
}

/// POST /api/v1/session/login (with a guest's bearer token, its cart is merged).
pub async fn login(
    State(app): State<AppState>,
    guest: Option<Bearer>,
    Body(body): Body<Credentials>,
) -> Result<Json<LoggedIn>, ApiError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .log_in(call(
            LogInRequest {
                email: body.email,
                password: body.password,
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(GatewayError::upstream("identity"))?
        .into_inner()
        .session;
    let session = session_response(&app, session).await?;
    let guest_cart_merged = merge_guest(&app, guest.as_ref(), &session.access_token).await;
    Ok(Json(LoggedIn {
        session,
        guest_cart_merged,
    }))
}

/// The refresh body.
#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    /// The session's refresh token.
    pub refresh_token: String,
}

/// POST /api/v1/session/refresh.
pub async fn refresh(
    State(app): State<AppState>,
    Body(body): Body<RefreshBody>,
) -> Result<Json<SessionResponse>, ApiError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .refresh_session(call(
            RefreshSessionRequest {
                refresh_token: body.refresh_token,
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(GatewayError::upstream("identity"))?
        .into_inner()
        .session;
    Ok(Json(session_response(&app, session).await?))
}

/// POST /api/v1/session/logout.
pub async fn logout(State(app): State<AppState>, bearer: Bearer) -> Result<StatusCode, ApiError> {
    let mut identity = app.upstreams.identity.clone();
    identity
        .log_out(call(
            LogOutRequest {},
            app.upstreams.deadlines.critical,
            Some(&bearer.token),
        ))
        .await
        .map_err(GatewayError::upstream("identity"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cart, priced.
#[derive(Debug, Serialize)]
pub struct CartResponse {
    /// The cart.
    pub cart: CartView,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
}

async fn cart_response(
    app: &App,
    bearer: &Bearer,
    currency: Option<&str>,
) -> Result<Json<CartResponse>, ApiError> {
    let target = target(app, currency).await;
    let (cart, currency_note) = shop::cart(app, &target, &bearer.token).await?;
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
    cart_response(&app, &bearer, params.currency.as_deref()).await
}

/// The add-to-cart body.
#[derive(Debug, Deserialize)]
pub struct AddItemBody {
    /// The product.
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
    let mut cart = app.upstreams.cart.clone();
    cart.add_item(call(
        AddItemRequest {
            request_id: body.request_id.unwrap_or_else(random_token),
            product_id: body.product_id,
            quantity: body.quantity,
        },
        app.upstreams.deadlines.critical,
        Some(&bearer.token),
    ))
    .await
    .map_err(GatewayError::upstream("cart"))?;
    cart_response(&app, &bearer, params.currency.as_deref()).await
}

/// The quantity body.
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
    let mut cart = app.upstreams.cart.clone();
    cart.set_item_quantity(call(
        SetItemQuantityRequest {
            product_id,
            quantity: body.quantity,
        },
        app.upstreams.deadlines.critical,
        Some(&bearer.token),
    ))
    .await
    .map_err(GatewayError::upstream("cart"))?;
    cart_response(&app, &bearer, params.currency.as_deref()).await
}

/// DELETE /api/v1/cart/items/{product_id}.
pub async fn remove_item(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(product_id): Path<String>,
    Params(params): Params<CurrencyParam>,
) -> Result<Json<CartResponse>, ApiError> {
    let mut cart = app.upstreams.cart.clone();
    cart.remove_item(call(
        RemoveItemRequest { product_id },
        app.upstreams.deadlines.critical,
        Some(&bearer.token),
    ))
    .await
    .map_err(GatewayError::upstream("cart"))?;
    cart_response(&app, &bearer, params.currency.as_deref()).await
}

/// A shipping address in a checkout body.
#[derive(Debug, Default, Deserialize)]
pub struct AddressBody {
    /// Who receives the parcel.
    #[serde(default)]
    pub recipient_name: String,
    /// 1..=3 street lines.
    #[serde(default)]
    pub street_lines: Vec<String>,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Region, where the country uses one.
    #[serde(default)]
    pub region: String,
    /// Postal code.
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

/// One order.
#[derive(Debug, Serialize)]
pub struct OrderResponse {
    /// The order.
    pub order: OrderView,
}

/// POST /api/v1/orders: the checkout. 201 with the order, PLACED, PENDING or FAILED.
pub async fn place_order(
    State(app): State<AppState>,
    bearer: Bearer,
    Body(body): Body<PlaceOrderBody>,
) -> Result<Response, ApiError> {
    let address = body.shipping_address;
    let card = body.card;
    let request = PlaceOrderRequest {
        request_id: body.request_id,
        shipping_address: Some(Address {
            recipient_name: address.recipient_name,
            street_lines: address.street_lines,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country_code: address.country_code,
        }),
        email: body.email,
        card: Some(Card {
            number: card.number,
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
            cvv: card.cvv,
            holder_name: card.holder_name,
        }),
        currency_code: body.currency_code,
    };
    let mut orders = app.upstreams.orders.clone();
    let order = orders
        .place_order(call(
            request,
            app.upstreams.deadlines.checkout,
            Some(&bearer.token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"))?
        .into_inner()
        .order
        .unwrap_or_default();
    let order = with_currency(&app, order).await;
    Ok((StatusCode::CREATED, Json(OrderResponse { order })).into_response())
}

async fn with_currency(app: &App, order: bazaar_contract::orders::v1::Order) -> OrderView {
    let code = order
        .total
        .as_ref()
        .map(|m| m.currency_code.clone())
        .unwrap_or_default();
    let info = app.currencies.find(&app.upstreams, &code).await;
    shop::order_view(order, info.as_ref())
}

/// GET /api/v1/orders/{order_id}.
pub async fn get_order(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<Json<OrderResponse>, ApiError> {
    let mut orders = app.upstreams.orders.clone();
    let order = orders
        .get_order(call(
            GetOrderRequest { order_id: id },
            app.upstreams.deadlines.critical,
            Some(&bearer.token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"))?
        .into_inner()
        .order
        .unwrap_or_default();
    Ok(Json(OrderResponse {
        order: with_currency(&app, order).await,
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
    let mut orders = app.upstreams.orders.clone();
    let listed = orders
        .list_orders(call(
            ListOrdersRequest {
                page_size: 20,
                page_token: params.page_token,
            },
            app.upstreams.deadlines.critical,
            Some(&bearer.token),
        ))
        .await
        .map_err(GatewayError::upstream("orders"))?
        .into_inner();
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
    Ok(Json(OrdersResponse {
        orders,
        next_page_token: listed.next_page_token,
    }))
}

/// Every route of the API, relative to `/api/v1`: method, path and handler. The router is
/// built from this table, and a test checks it against the OpenAPI document both ways.
pub fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/products", get(list_products)),
        (Method::GET, "/products/{product_id}", get(get_product)),
        (Method::GET, "/search", get(search)),
        (Method::GET, "/categories", get(categories)),
        (Method::GET, "/recommendations", get(recommendations)),
        (Method::GET, "/currencies", get(currencies)),
        (Method::POST, "/session/guest", post(start_guest)),
        (Method::POST, "/session/signup", post(signup)),
        (Method::POST, "/session/login", post(login)),
        (Method::POST, "/session/refresh", post(refresh)),
        (Method::POST, "/session/logout", post(logout)),
        (Method::GET, "/cart", get(get_cart)),
        (Method::POST, "/cart/items", post(add_item)),
        (Method::PUT, "/cart/items/{product_id}", put(set_quantity)),
        (
            Method::DELETE,
            "/cart/items/{product_id}",
            delete(remove_item),
        ),
        (Method::GET, "/orders", get(list_orders)),
        (Method::POST, "/orders", post(place_order)),
        (Method::GET, "/orders/{order_id}", get(get_order)),
        (Method::GET, "/status", get(crate::status::json)),
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
