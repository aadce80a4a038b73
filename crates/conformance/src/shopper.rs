//! The calls that set the scene for a check: a caller with a token, an administrator, stock
//! on the shelves, a filled cart, a placed order. Each goes through the contract to the
//! service that owns it, and each failure is reported as a failure of the check that needed
//! it, naming the call.

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::cart::v1::{AddItemRequest, Cart};
use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::{ListProductsRequest, Product};
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::{
    ClaimAdminRequest, LogInRequest, RefreshSessionRequest, Role, Session, SignUpRequest,
    StartGuestSessionRequest, User,
};
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::{GetStockRequest, RestockRequest, Stock};
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{Order, PlaceOrderRequest};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use tonic::Code;

use crate::check::{Checked, fail, ok};
use crate::target::{Admin, Target, authorized, unique};

/// A card the payment service charges.
pub const GOOD_CARD: &str = "4242424242424242";
/// A card the payment service declines (DECLINE_REASON_GENERIC).
pub const DECLINED_CARD: &str = "4000000000000002";

/// A caller: who it is and its session.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user or guest.
    pub user: User,
    /// Identity's tokens for it; the access token authorizes the calls made as this caller.
    pub session: Session,
}

impl Caller {
    /// The access token.
    pub fn token(&self) -> &str {
        &self.session.access_token
    }
}

/// A new guest, from identity.
pub async fn guest(target: &Target) -> Checked<Caller> {
    let mut identity = IdentityServiceClient::new(target.channel("identity")?);
    let response = ok(
        identity
            .start_guest_session(StartGuestSessionRequest {})
            .await,
        "identity StartGuestSession",
    )?;
    caller(response.user, response.session, "StartGuestSession")
}

/// A new registered user with a fresh email, from identity; returns it with its password.
pub async fn registered(target: &Target) -> Checked<(Caller, String)> {
    let mut identity = IdentityServiceClient::new(target.channel("identity")?);
    let password = "a password of the conformance kit".to_owned();
    let response = ok(
        identity
            .sign_up(SignUpRequest {
                email: format!("{}@conformance.test", unique("user")),
                password: password.clone(),
                display_name: "Conformance".to_owned(),
            })
            .await,
        "identity SignUp",
    )?;
    Ok((caller(response.user, response.session, "SignUp")?, password))
}

fn caller(user: Option<User>, session: Option<Session>, call: &str) -> Checked<Caller> {
    match (user, session) {
        (Some(user), Some(session)) => Ok(Caller { user, session }),
        _ => fail(format!("{call} answered without a user or a session")),
    }
}

/// The administrator's access token.
pub async fn admin_token(target: &Target) -> Checked<String> {
    match target.admin()? {
        Admin::Token(token) => Ok(token.clone()),
        Admin::Account {
            email,
            password,
            code,
        } => {
            let mut identity = IdentityServiceClient::new(target.channel("identity")?);
            let signed_up = identity
                .sign_up(SignUpRequest {
                    email: email.clone(),
                    password: password.clone(),
                    display_name: String::new(),
                })
                .await;
            let (user, session) = match signed_up {
                Ok(response) => {
                    let response = response.into_inner();
                    (response.user, response.session)
                }
                Err(status) if status.code() == Code::AlreadyExists => {
                    let response = ok(
                        identity
                            .log_in(LogInRequest {
                                email: email.clone(),
                                password: password.clone(),
                            })
                            .await,
                        "identity LogIn (admin)",
                    )?;
                    (response.user, response.session)
                }
                Err(status) => {
                    return fail(format!(
                        "identity SignUp (admin) failed: {}",
                        crate::check::describe(&status)
                    ));
                }
            };
            let Some(session) = session else {
                return fail("identity answered the admin without a session");
            };
            let is_admin = user.is_some_and(|u| u.roles.contains(&(Role::Admin as i32)));
            match code {
                Some(code) if !is_admin => {
                    ok(
                        identity
                            .claim_admin(authorized(
                                &session.access_token,
                                ClaimAdminRequest { code: code.clone() },
                            ))
                            .await,
                        "identity ClaimAdmin (admin)",
                    )?;
                    // The token the claim was made with keeps its claims: refresh it.
                    let refreshed = ok(
                        identity
                            .refresh_session(RefreshSessionRequest {
                                refresh_token: session.refresh_token,
                            })
                            .await,
                        "identity RefreshSession (admin)",
                    )?;
                    match refreshed.session {
                        Some(session) => Ok(session.access_token),
                        None => fail("identity refreshed the admin's session without a session"),
                    }
                }
                _ => Ok(session.access_token),
            }
        }
    }
}

/// Adds `quantity` units of `product_id` to stock, as the administrator.
pub async fn restock(target: &Target, product_id: &str, quantity: i32) -> Checked<Stock> {
    let token = admin_token(target).await?;
    let mut inventory = InventoryServiceClient::new(target.channel("inventory")?);
    let response = ok(
        inventory
            .restock(authorized(
                &token,
                RestockRequest {
                    request_id: unique("restock"),
                    product_id: product_id.to_owned(),
                    quantity,
                },
            ))
            .await,
        "inventory Restock",
    )?;
    response
        .stock
        .map_or_else(|| fail("Restock answered without the stock"), Ok)
}

/// The stock of `product_id`.
pub async fn stock(target: &Target, product_id: &str) -> Checked<Stock> {
    let mut inventory = InventoryServiceClient::new(target.channel("inventory")?);
    let response = ok(
        inventory
            .get_stock(GetStockRequest {
                product_id: product_id.to_owned(),
            })
            .await,
        "inventory GetStock",
    )?;
    response
        .stock
        .map_or_else(|| fail("GetStock answered without the stock"), Ok)
}

/// The first page of the catalog: up to 100 products, by id.
pub async fn catalog_page(target: &Target) -> Checked<Vec<Product>> {
    let mut catalog = CatalogServiceClient::new(target.channel("catalog")?);
    let response = ok(
        catalog
            .list_products(ListProductsRequest {
                page_size: 100,
                ..Default::default()
            })
            .await,
        "catalog ListProducts",
    )?;
    Ok(response.products)
}

/// The first `count` products of the catalog (by id), for checks that need real products.
pub async fn products(target: &Target, count: usize) -> Checked<Vec<Product>> {
    let page = catalog_page(target).await?;
    if page.len() < count {
        return fail(format!(
            "the catalog lists {} products; this check needs {count}",
            page.len()
        ));
    }
    Ok(page.into_iter().take(count).collect())
}

/// Adds `quantity` of `product_id` to the caller's cart.
pub async fn add_to_cart(
    target: &Target,
    caller: &Caller,
    product_id: &str,
    quantity: i32,
) -> Checked<Cart> {
    let mut cart = CartServiceClient::new(target.channel("cart")?);
    let response = ok(
        cart.add_item(authorized(
            caller.token(),
            AddItemRequest {
                request_id: unique("add"),
                product_id: product_id.to_owned(),
                quantity,
            },
        ))
        .await,
        "cart AddItem",
    )?;
    response
        .cart
        .map_or_else(|| fail("AddItem answered without the cart"), Ok)
}

/// A shipping address in the United States.
pub fn address() -> Address {
    Address {
        recipient_name: "Ada Lovelace".to_owned(),
        street_lines: vec!["1 Main St".to_owned()],
        city: "Springfield".to_owned(),
        region: "IL".to_owned(),
        postal_code: "62701".to_owned(),
        country_code: "US".to_owned(),
    }
}

/// A card with `number`, valid otherwise.
pub fn card(number: &str) -> Card {
    Card {
        number: number.to_owned(),
        expiry_month: 12,
        expiry_year: 2099,
        cvv: "123".to_owned(),
        holder_name: "Ada Lovelace".to_owned(),
    }
}

/// A checkout request with a fresh `request_id`, paying with `card_number`.
pub fn order_request(card_number: &str, currency_code: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        request_id: unique("order"),
        shipping_address: Some(address()),
        email: format!("{}@conformance.test", unique("buyer")),
        card: Some(card(card_number)),
        currency_code: currency_code.to_owned(),
    }
}

/// Places `request` for `caller` and returns the order (in whatever state the call ended).
pub async fn place_order(
    target: &Target,
    caller: &Caller,
    request: PlaceOrderRequest,
) -> Checked<Order> {
    let mut orders = OrdersServiceClient::new(target.channel("orders")?);
    let mut request = authorized(caller.token(), request);
    request.set_timeout(std::time::Duration::from_secs(30));
    let response = ok(orders.place_order(request).await, "orders PlaceOrder")?;
    response
        .order
        .map_or_else(|| fail("PlaceOrder answered without the order"), Ok)
}

/// A guest who bought `quantity` of each of `products` (restocked first), with a card that
/// succeeds, in US dollars: the order must be PLACED.
pub async fn placed_order(
    target: &Target,
    products: &[&str],
    quantity: i32,
) -> Checked<(Caller, Order)> {
    let buyer = guest(target).await?;
    for product in products {
        restock(target, product, quantity).await?;
        add_to_cart(target, &buyer, product, quantity).await?;
    }
    let order = place_order(target, &buyer, order_request(GOOD_CARD, "USD")).await?;
    crate::ensure!(
        order.state == bazaar_contract::orders::v1::OrderState::Placed as i32,
        "a checkout with stock and a good card ended {:?} (failure {:?})",
        order.state(),
        order.failure
    );
    Ok((buyer, order))
}
