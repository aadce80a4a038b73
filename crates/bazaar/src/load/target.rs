//! What a load run calls: the services directly over gRPC ([`super::grpc`]), or the
//! storefront's JSON API over HTTP ([`super::http`]). Both offer the same calls, so the
//! shoppers do not know which they drive; a failure is reduced to a label (a gRPC code
//! name, an HTTP status) and whether it is transient, that is worth the same call again.

use std::time::Duration;

use super::grpc::Grpc;
use super::http::Http;

/// A shopper's session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Sent as `authorization: Bearer`.
    pub access_token: String,
    /// Kept for the invariant check.
    pub refresh_token: String,
}

/// A product of the catalog, as the run picks from them.
#[derive(Clone, Debug)]
pub struct Product {
    /// Its id.
    pub id: String,
    /// Its name, whose words the searches look for.
    pub name: String,
}

/// An order the shop acknowledged.
#[derive(Clone, Debug)]
pub struct Placed {
    /// Its id.
    pub order_id: String,
    /// Whether it ended FAILED (declined, out of stock) rather than PLACED or PENDING.
    pub failed: bool,
}

/// How a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A gRPC code name (`Unavailable`) or an HTTP status (`503`), or `connect` and
    /// `timeout` for an HTTP call that got no answer.
    pub label: String,
    /// The same call may succeed later: the shop was unreachable, overloaded or slow.
    pub transient: bool,
    /// How long the shop asked the caller to wait before trying again.
    pub pushback: Option<Duration>,
}

/// The shop as a load run reaches it.
#[derive(Debug)]
pub enum Target {
    /// The gRPC services.
    Grpc(Grpc),
    /// The storefront's JSON API.
    Http(Http),
}

impl Target {
    /// Every product of the catalog.
    ///
    /// # Errors
    ///
    /// When the catalog cannot be listed.
    pub async fn products(&self) -> Result<Vec<Product>, String> {
        match self {
            Target::Grpc(grpc) => grpc.products().await,
            Target::Http(http) => http.products().await,
        }
    }

    /// A new guest session.
    pub async fn guest(&self) -> Result<Session, Failure> {
        match self {
            Target::Grpc(grpc) => grpc.guest().await,
            Target::Http(http) => http.guest().await,
        }
    }

    /// The first page of the product list.
    pub async fn browse(&self) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.browse().await,
            Target::Http(http) => http.browse().await,
        }
    }

    /// A search for `query`.
    pub async fn search(&self, query: &str) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.search(query).await,
            Target::Http(http) => http.search(query).await,
        }
    }

    /// A product page.
    pub async fn product(&self, product_id: &str) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.product(product_id).await,
            Target::Http(http) => http.product(product_id).await,
        }
    }

    /// One unit of `product_id` more in the cart; the units of it in the cart after.
    pub async fn add_item(
        &self,
        session: &Session,
        product_id: &str,
        request_id: &str,
    ) -> Result<i64, Failure> {
        match self {
            Target::Grpc(grpc) => grpc.add_item(session, product_id, request_id).await,
            Target::Http(http) => http.add_item(session, product_id, request_id).await,
        }
    }

    /// `product_id` out of the cart.
    pub async fn remove_item(&self, session: &Session, product_id: &str) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.remove_item(session, product_id).await,
            Target::Http(http) => http.remove_item(session, product_id).await,
        }
    }

    /// The cart.
    pub async fn cart(&self, session: &Session) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.cart(session).await,
            Target::Http(http) => http.cart(session).await,
        }
    }

    /// The checkout of the cart, keyed by `request_id`.
    pub async fn place_order(
        &self,
        session: &Session,
        request_id: &str,
    ) -> Result<Placed, Failure> {
        match self {
            Target::Grpc(grpc) => grpc.place_order(session, request_id).await,
            Target::Http(http) => http.place_order(session, request_id).await,
        }
    }

    /// The first page of the shopper's orders.
    pub async fn history(&self, session: &Session) -> Result<(), Failure> {
        match self {
            Target::Grpc(grpc) => grpc.history(session).await,
            Target::Http(http) => http.history(session).await,
        }
    }

    /// The storefront's home page, as the shopper's browser loads it. The services have
    /// no pages: over gRPC it fails as `NoPage` (a run refuses such a mix before it starts).
    pub async fn home(&self, session: &Session) -> Result<(), Failure> {
        match self {
            Target::Grpc(_) => Err(Failure {
                label: "NoPage".to_owned(),
                transient: false,
                pushback: None,
            }),
            Target::Http(http) => http.home(session).await,
        }
    }
}

/// The address of service `name`: `BAZAAR_<NAME>_ADDR` (its first address), or `host`
/// and the service's port.
pub fn address_of(name: &str, host: &str, port: u16) -> String {
    let variable = format!("BAZAAR_{}_ADDR", name.to_uppercase());
    std::env::var(variable)
        .ok()
        .and_then(|list| chassis::config::split_addresses(&list).into_iter().next())
        .unwrap_or_else(|| {
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        })
}

/// The shipping address and e-mail of every order of a load run.
pub mod buyer {
    /// Who the parcels go to.
    pub const RECIPIENT: &str = "Load Shopper";
    /// Their street.
    pub const STREET: &str = "1 Main St";
    /// Their city.
    pub const CITY: &str = "Springfield";
    /// Their postal code.
    pub const POSTAL_CODE: &str = "12345";
    /// Their country.
    pub const COUNTRY: &str = "US";
    /// Where confirmations go.
    pub const EMAIL: &str = "load@example.com";
    /// A card the payment network accepts.
    pub const CARD: &str = "4242424242424242";
}
