//! The calls a shopper (and the admin who stocks the shelves) makes, through the contract
//! only: what most cross-service tests need before the part they are about.

use bazaar_contract::cart::v1::AddItemRequest;
use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::{
    ClaimAdminRequest, LogInRequest, RefreshSessionRequest, Role, Session, SignUpRequest,
    StartGuestSessionRequest,
};
use bazaar_contract::inventory::v1::RestockRequest;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{Order, PlaceOrderRequest};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Status};

use crate::{ADMIN_EMAIL, Shop};

/// A card the payment network accepts.
pub const GOOD_CARD: &str = "4242424242424242";
/// A card the payment network declines.
pub const DECLINED_CARD: &str = "4000000000000002";
/// The admin's password in every shop.
const ADMIN_PASSWORD: &str = "the admin password of the tests";

/// A caller's access token.
#[derive(Clone, Debug)]
pub struct Token(pub String);

impl Token {
    /// `message` as a request carrying this token.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let value = MetadataValue::try_from(format!("Bearer {}", self.0))
            .expect("a token is printable ASCII");
        request.metadata_mut().insert("authorization", value);
        request
    }
}

/// A new guest session, whole (its access and refresh tokens).
pub async fn guest_session(shop: &Shop) -> Session {
    IdentityServiceClient::new(shop.channel("identity"))
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .expect("a guest session")
        .into_inner()
        .session
        .expect("the response carries the session")
}

/// A new guest session's access token.
pub async fn guest(shop: &Shop) -> Token {
    Token(guest_session(shop).await.access_token)
}

/// The administrator's token: signed up on first use (and made admin with a code the shop
/// issues, as its operator would), logged in after.
pub async fn admin(shop: &Shop) -> Token {
    let mut identity = IdentityServiceClient::new(shop.channel("identity"));
    let signed_up = identity
        .sign_up(SignUpRequest {
            email: ADMIN_EMAIL.to_owned(),
            password: ADMIN_PASSWORD.to_owned(),
            ..Default::default()
        })
        .await;
    let (user, session) = match signed_up {
        Ok(response) => {
            let response = response.into_inner();
            (response.user, response.session)
        }
        Err(status) if status.code() == Code::AlreadyExists => {
            let response = identity
                .log_in(LogInRequest {
                    email: ADMIN_EMAIL.to_owned(),
                    password: ADMIN_PASSWORD.to_owned(),
                })
                .await
                .expect("the admin logs in")
                .into_inner();
            (response.user, response.session)
        }
        Err(status) => panic!("the admin cannot sign up: {status:?}"),
    };
    let session = session.expect("the response carries the session");
    let user = user.expect("the response carries the user");
    if user.roles.contains(&(Role::Admin as i32)) {
        return Token(session.access_token);
    }
    let code = shop.admin_code().await;
    identity
        .claim_admin(Token(session.access_token).request(ClaimAdminRequest { code }))
        .await
        .expect("the admin redeems the code");
    // The token the claim was made with keeps its claims: a refreshed one has the role.
    let refreshed = identity
        .refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token,
        })
        .await
        .expect("the admin's session refreshes")
        .into_inner()
        .session
        .expect("the response carries the session");
    Token(refreshed.access_token)
}

/// Puts `quantity` more of `product_id` on the shelves.
pub async fn restock(shop: &Shop, admin: &Token, product_id: &str, quantity: i32) {
    InventoryServiceClient::new(shop.channel("inventory"))
        .restock(admin.request(RestockRequest {
            request_id: unique("restock"),
            product_id: product_id.to_owned(),
            quantity,
        }))
        .await
        .unwrap_or_else(|s| panic!("restock of {product_id} failed: {s:?}"));
}

/// Adds `quantity` of `product_id` to the caller's cart.
pub async fn add_to_cart(shop: &Shop, token: &Token, product_id: &str, quantity: i32) {
    CartServiceClient::new(shop.channel("cart"))
        .add_item(token.request(AddItemRequest {
            request_id: unique("add"),
            product_id: product_id.to_owned(),
            quantity,
        }))
        .await
        .unwrap_or_else(|s| panic!("adding {product_id} to the cart failed: {s:?}"));
}

/// A PlaceOrder request for the caller's cart, paid with `card`, in `currency_code`.
pub fn order_request(request_id: &str, card: &str, currency_code: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        request_id: request_id.to_owned(),
        shipping_address: Some(Address {
            recipient_name: "Ada Lovelace".to_owned(),
            street_lines: vec!["1 Main St".to_owned()],
            city: "Springfield".to_owned(),
            region: String::new(),
            postal_code: "12345".to_owned(),
            country_code: "US".to_owned(),
        }),
        email: "ada@example.com".to_owned(),
        card: Some(Card {
            number: card.to_owned(),
            expiry_month: 12,
            expiry_year: 2040,
            cvv: "123".to_owned(),
            holder_name: "Ada Lovelace".to_owned(),
        }),
        currency_code: currency_code.to_owned(),
    }
}

/// Places the order `request` for the caller; the order as PlaceOrder answers it.
pub async fn place_order(
    shop: &Shop,
    token: &Token,
    request: PlaceOrderRequest,
) -> Result<Order, Status> {
    place_order_at(shop, 0, token, request).await
}

/// [`place_order`] through replica `replica` of orders.
///
/// # Panics
/// When the shop has no such replica (a mistake in the test).
pub async fn place_order_at(
    shop: &Shop,
    replica: usize,
    token: &Token,
    request: PlaceOrderRequest,
) -> Result<Order, Status> {
    let mut request = token.request(request);
    request.set_timeout(std::time::Duration::from_secs(30));
    OrdersServiceClient::new(shop.replica_channel("orders", replica))
        .place_order(request)
        .await
        .map(|r| {
            r.into_inner()
                .order
                .expect("the response carries the order")
        })
}

/// An id no other call of this process uses: `prefix`, the process id and a counter.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
