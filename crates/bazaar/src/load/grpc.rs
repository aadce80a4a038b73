//! The shop's gRPC services as a load run calls them: the generated clients of the
//! contract over TLS verified with the shop's CA, presenting no certificate (a shopper
//! from outside, as `bazaar status` connects), one lazily connected HTTP/2 connection per
//! service shared by every shopper, and a deadline on every call.

use std::time::Duration;

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::cart::v1::{AddItemRequest, GetCartRequest, RemoveItemRequest};
use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::{GetProductRequest, ListProductsRequest, SearchProductsRequest};
use bazaar_contract::identity::v1::StartGuestSessionRequest;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::inventory::v1::GetStockRequest;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{ListOrdersRequest, OrderState, PlaceOrderRequest};
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use chassis::tls::Tls;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use super::target::{Failure, Placed, Product, Session, address_of, buyer};

/// The deadline of every call but PlaceOrder.
const DEADLINE: Duration = Duration::from_secs(10);
/// The deadline of PlaceOrder, which its contract wants to be at least 10 s.
const CHECKOUT_DEADLINE: Duration = Duration::from_secs(15);

/// A connection to each service a shopper calls.
#[derive(Debug)]
pub struct Grpc {
    catalog: Channel,
    identity: Channel,
    inventory: Channel,
    cart: Channel,
    orders: Channel,
}

impl Grpc {
    /// Connections (made on first use) to the services on `host`, or where
    /// `BAZAAR_<NAME>_ADDR` says, over `tls`.
    ///
    /// # Errors
    ///
    /// When an address is not one.
    pub fn connect(host: &str, tls: &Tls) -> Result<Self, String> {
        let channel = |spec: &chassis::topology::Spec| -> Result<Channel, String> {
            let address = address_of(spec.name, host, spec.port);
            tls.endpoint(&address)
                .map(|endpoint| {
                    endpoint
                        .connect_timeout(Duration::from_secs(2))
                        .connect_lazy()
                })
                .map_err(|e| format!("{} at {address}: {e}", spec.name))
        };
        use chassis::topology::{CART, CATALOG, IDENTITY, INVENTORY, ORDERS};
        Ok(Self {
            catalog: channel(&CATALOG)?,
            identity: channel(&IDENTITY)?,
            inventory: channel(&INVENTORY)?,
            cart: channel(&CART)?,
            orders: channel(&ORDERS)?,
        })
    }

    pub(super) async fn products(&self) -> Result<Vec<Product>, String> {
        let mut catalog = CatalogServiceClient::new(self.catalog.clone());
        let mut products = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = catalog
                .list_products(call(ListProductsRequest {
                    page_size: 100,
                    page_token,
                    category_id: String::new(),
                }))
                .await
                .map_err(|status| {
                    format!(
                        "cannot list the catalog: {:?} {}",
                        status.code(),
                        status.message()
                    )
                })?
                .into_inner();
            products.extend(page.products.into_iter().map(|product| Product {
                id: product.id,
                name: product.name,
            }));
            if page.next_page_token.is_empty() {
                return Ok(products);
            }
            page_token = page.next_page_token;
        }
    }

    pub(super) async fn guest(&self) -> Result<Session, Failure> {
        let session = IdentityServiceClient::new(self.identity.clone())
            .start_guest_session(call(StartGuestSessionRequest {}))
            .await
            .map_err(failure)?
            .into_inner()
            .session
            .ok_or_else(|| missing("session"))?;
        Ok(Session {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
        })
    }

    pub(super) async fn browse(&self) -> Result<(), Failure> {
        CatalogServiceClient::new(self.catalog.clone())
            .list_products(call(ListProductsRequest {
                page_size: 20,
                ..Default::default()
            }))
            .await
            .map_err(failure)?;
        Ok(())
    }

    pub(super) async fn search(&self, query: &str) -> Result<(), Failure> {
        CatalogServiceClient::new(self.catalog.clone())
            .search_products(call(SearchProductsRequest {
                query: query.to_owned(),
                page_size: 20,
                page_token: String::new(),
            }))
            .await
            .map_err(failure)?;
        Ok(())
    }

    pub(super) async fn product(&self, product_id: &str) -> Result<(), Failure> {
        let mut catalog = CatalogServiceClient::new(self.catalog.clone());
        let mut inventory = InventoryServiceClient::new(self.inventory.clone());
        let product = catalog.get_product(call(GetProductRequest {
            product_id: product_id.to_owned(),
        }));
        let stock = inventory.get_stock(call(GetStockRequest {
            product_id: product_id.to_owned(),
        }));
        // A product page asks for both at once, as the storefront does.
        let (product, stock) = tokio::join!(product, stock);
        product.map_err(failure)?;
        stock.map_err(failure)?;
        Ok(())
    }

    pub(super) async fn add_item(
        &self,
        session: &Session,
        product_id: &str,
        request_id: &str,
    ) -> Result<i64, Failure> {
        let cart = CartServiceClient::new(self.cart.clone())
            .add_item(authorized(
                session,
                AddItemRequest {
                    request_id: request_id.to_owned(),
                    product_id: product_id.to_owned(),
                    quantity: 1,
                },
            )?)
            .await
            .map_err(failure)?
            .into_inner()
            .cart
            .ok_or_else(|| missing("cart"))?;
        Ok(cart
            .items
            .iter()
            .find(|item| item.product_id == product_id)
            .map_or(0, |item| i64::from(item.quantity)))
    }

    pub(super) async fn remove_item(
        &self,
        session: &Session,
        product_id: &str,
    ) -> Result<(), Failure> {
        CartServiceClient::new(self.cart.clone())
            .remove_item(authorized(
                session,
                RemoveItemRequest {
                    product_id: product_id.to_owned(),
                },
            )?)
            .await
            .map_err(failure)?;
        Ok(())
    }

    pub(super) async fn cart(&self, session: &Session) -> Result<(), Failure> {
        CartServiceClient::new(self.cart.clone())
            .get_cart(authorized(session, GetCartRequest {})?)
            .await
            .map_err(failure)?;
        Ok(())
    }

    pub(super) async fn place_order(
        &self,
        session: &Session,
        request_id: &str,
    ) -> Result<Placed, Failure> {
        let mut request = authorized(
            session,
            PlaceOrderRequest {
                request_id: request_id.to_owned(),
                shipping_address: Some(Address {
                    recipient_name: buyer::RECIPIENT.to_owned(),
                    street_lines: vec![buyer::STREET.to_owned()],
                    city: buyer::CITY.to_owned(),
                    region: String::new(),
                    postal_code: buyer::POSTAL_CODE.to_owned(),
                    country_code: buyer::COUNTRY.to_owned(),
                }),
                email: buyer::EMAIL.to_owned(),
                card: Some(Card {
                    number: buyer::CARD.to_owned(),
                    expiry_month: 12,
                    expiry_year: 2040,
                    cvv: "123".to_owned(),
                    holder_name: buyer::RECIPIENT.to_owned(),
                }),
                currency_code: String::new(),
            },
        )?;
        request.set_timeout(CHECKOUT_DEADLINE);
        let order = OrdersServiceClient::new(self.orders.clone())
            .place_order(request)
            .await
            .map_err(failure)?
            .into_inner()
            .order
            .ok_or_else(|| missing("order"))?;
        Ok(Placed {
            failed: order.state() == OrderState::Failed,
            order_id: order.id,
        })
    }

    pub(super) async fn history(&self, session: &Session) -> Result<(), Failure> {
        OrdersServiceClient::new(self.orders.clone())
            .list_orders(authorized(
                session,
                ListOrdersRequest {
                    page_size: 20,
                    page_token: String::new(),
                },
            )?)
            .await
            .map_err(failure)?;
        Ok(())
    }
}

/// `message` as a request with the default deadline.
pub(super) fn call<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

/// `message` as a request of the shopper of `session`.
fn authorized<T>(session: &Session, message: T) -> Result<Request<T>, Failure> {
    let mut request = call(message);
    let value = format!("Bearer {}", session.access_token)
        .parse()
        .map_err(|_| Failure {
            label: "BadToken".to_owned(),
            transient: false,
            pushback: None,
        })?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// A gRPC error as a failure. Worth trying again: UNAVAILABLE (not reached, or not
/// ready), DEADLINE_EXCEEDED and CANCELLED (no answer in time, which tonic's client
/// reports as CANCELLED), RESOURCE_EXHAUSTED (overloaded; it may say for how long) and
/// ABORTED (the same `request_id` is still being worked on).
#[allow(clippy::needless_pass_by_value)] // the shape `map_err` takes
pub(super) fn failure(status: Status) -> Failure {
    let code = status.code();
    Failure {
        label: format!("{code:?}"),
        transient: matches!(
            code,
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Cancelled
                | Code::ResourceExhausted
                | Code::Aborted
        ),
        pushback: status
            .metadata()
            .get("grpc-retry-pushback-ms")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_millis),
    }
}

/// A response without the part the contract says it carries.
fn missing(what: &str) -> Failure {
    Failure {
        label: format!("No{}", what[..1].to_uppercase() + &what[1..]),
        transient: false,
        pushback: None,
    }
}
