//! The gateway's settings: the shared server flags (listen address, data directory, logs),
//! where every service is, how long each kind of call may take, cookie policy, and the
//! per-client rate limit.
//!
//! The address flags use the same names, variables and defaults as the services that call
//! each other (`BAZAAR_CATALOG_ADDR`, ...), so one environment configures the whole shop.

use std::path::PathBuf;
use std::time::Duration;

use chassis::ServerArgs;
use chassis::config::split_addresses;
use clap::Parser;

/// Settings of the gateway.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "gateway",
    about = "The bazaar storefront: web pages and a JSON API over the gRPC services."
)]
pub struct Config {
    /// Settings shared by every service (listen address, logs, data directory, ...).
    #[command(flatten)]
    pub server: ServerArgs,

    /// Address(es) of the catalog service, comma-separated.
    #[arg(long, env = "BAZAAR_CATALOG_ADDR", default_value = "127.0.0.1:50051")]
    pub catalog_addr: String,

    /// Address(es) of the currency service, comma-separated.
    #[arg(long, env = "BAZAAR_CURRENCY_ADDR", default_value = "127.0.0.1:50052")]
    pub currency_addr: String,

    /// Address(es) of the identity service, comma-separated.
    #[arg(long, env = "BAZAAR_IDENTITY_ADDR", default_value = "127.0.0.1:50053")]
    pub identity_addr: String,

    /// Address(es) of the cart service, comma-separated.
    #[arg(long, env = "BAZAAR_CART_ADDR", default_value = "127.0.0.1:50054")]
    pub cart_addr: String,

    /// Address(es) of the inventory service, comma-separated (health only).
    #[arg(long, env = "BAZAAR_INVENTORY_ADDR", default_value = "127.0.0.1:50055")]
    pub inventory_addr: String,

    /// Address(es) of the payment service, comma-separated (health only).
    #[arg(long, env = "BAZAAR_PAYMENT_ADDR", default_value = "127.0.0.1:50056")]
    pub payment_addr: String,

    /// Address(es) of the shipping service, comma-separated (health only).
    #[arg(long, env = "BAZAAR_SHIPPING_ADDR", default_value = "127.0.0.1:50057")]
    pub shipping_addr: String,

    /// Address(es) of the orders service, comma-separated.
    #[arg(long, env = "BAZAAR_ORDERS_ADDR", default_value = "127.0.0.1:50058")]
    pub orders_addr: String,

    /// Address(es) of the notification service, comma-separated.
    #[arg(
        long,
        env = "BAZAAR_NOTIFICATION_ADDR",
        default_value = "127.0.0.1:50059"
    )]
    pub notification_addr: String,

    /// Address(es) of the recommendation service, comma-separated.
    #[arg(
        long,
        env = "BAZAAR_RECOMMENDATION_ADDR",
        default_value = "127.0.0.1:50060"
    )]
    pub recommendation_addr: String,

    /// Address of the catalog service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--catalog-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_CATALOG_ADMIN_ADDR")]
    pub catalog_admin_addr: Option<String>,

    /// Address of the currency service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--currency-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_CURRENCY_ADMIN_ADDR")]
    pub currency_admin_addr: Option<String>,

    /// Address of the identity service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--identity-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_IDENTITY_ADMIN_ADDR")]
    pub identity_admin_addr: Option<String>,

    /// Address of the cart service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--cart-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_CART_ADMIN_ADDR")]
    pub cart_admin_addr: Option<String>,

    /// Address of the inventory service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--inventory-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_INVENTORY_ADMIN_ADDR")]
    pub inventory_admin_addr: Option<String>,

    /// Address of the payment service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--payment-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_PAYMENT_ADMIN_ADDR")]
    pub payment_admin_addr: Option<String>,

    /// Address of the shipping service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--shipping-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_SHIPPING_ADMIN_ADDR")]
    pub shipping_admin_addr: Option<String>,

    /// Address of the orders service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--orders-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_ORDERS_ADMIN_ADDR")]
    pub orders_admin_addr: Option<String>,

    /// Address of the notification service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--notification-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_NOTIFICATION_ADMIN_ADDR")]
    pub notification_admin_addr: Option<String>,

    /// Address of the recommendation service's admin listener (`/metrics`), scraped for the status
    /// page; defaults to the host of `--recommendation-addr` on the service table's admin port.
    #[arg(long, env = "BAZAAR_RECOMMENDATION_ADMIN_ADDR")]
    pub recommendation_admin_addr: Option<String>,

    /// How often, in milliseconds, the status page scrapes every service's metrics.
    #[arg(long, env = "BAZAAR_GATEWAY_STATUS_SCRAPE_MS", default_value_t = 5_000)]
    pub status_scrape_ms: u64,

    /// Deadline, in milliseconds, of a call to a service a page cannot do without
    /// (catalog, cart, identity, orders).
    #[arg(
        long,
        env = "BAZAAR_GATEWAY_CRITICAL_DEADLINE_MS",
        default_value_t = 2_000
    )]
    pub critical_deadline_ms: u64,

    /// Deadline, in milliseconds, of a call to an optional service (currency,
    /// recommendation, notification) and of a health check; past it the page goes without.
    #[arg(
        long,
        env = "BAZAAR_GATEWAY_OPTIONAL_DEADLINE_MS",
        default_value_t = 800
    )]
    pub optional_deadline_ms: u64,

    /// Deadline, in milliseconds, of placing an order (the checkout saga; orders asks for
    /// at least 10 s).
    #[arg(
        long,
        env = "BAZAAR_GATEWAY_CHECKOUT_DEADLINE_MS",
        default_value_t = 15_000
    )]
    pub checkout_deadline_ms: u64,

    /// How long, in milliseconds, the storefront keeps what every shopper sees alike (the
    /// categories, pages of products, the best sellers) before asking the services again;
    /// what pages show of it may be that old. 0 keeps nothing.
    #[arg(long, env = "BAZAAR_GATEWAY_BROWSE_CACHE_MS", default_value_t = 2_000)]
    pub browse_cache_ms: u64,

    /// Mark cookies `Secure` (send them over HTTPS only). Turn on when a TLS proxy sits in
    /// front of the gateway.
    #[arg(long, env = "BAZAAR_GATEWAY_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Requests a second each client may make on average (pages and API; static files are
    /// not counted); beyond its allowance a client gets 429 with `Retry-After`. 0 turns the
    /// limit off.
    #[arg(
        long,
        env = "BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND",
        default_value_t = 20
    )]
    pub rate_limit_per_second: u32,

    /// Requests a client may make at once before the per-second rate applies (a page with
    /// its pictures and a few quick clicks fit well within it).
    #[arg(long, env = "BAZAAR_GATEWAY_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// Name the client by the last `X-Forwarded-For` entry (the address a proxy in front
    /// of the gateway saw) rather than by the connection's address. Turn on only behind
    /// such a proxy: otherwise any client can claim any address.
    #[arg(
        long,
        env = "BAZAAR_GATEWAY_TRUST_FORWARDED_FOR",
        default_value_t = false
    )]
    pub trust_forwarded_for: bool,

    /// Bind the listening port with `SO_REUSEPORT`, so that a new version of the gateway
    /// can bind it beside this one and take over before this one drains (`bazaar up` and
    /// `bazaar rollout gateway` do). Only processes of the same user can share the port.
    #[arg(long, env = "BAZAAR_GATEWAY_REUSE_PORT", default_value_t = false)]
    pub reuse_port: bool,

    /// How long, in milliseconds, a stopping gateway goes on serving the connections it
    /// has, every answer saying `Connection: close`, after it stops accepting new ones and
    /// before it closes the idle ones: time for each client to learn from a complete answer
    /// that it must reconnect.
    #[arg(long, env = "BAZAAR_GATEWAY_DRAIN_LINGER_MS", default_value_t = 1_000)]
    pub drain_linger_ms: u64,
}

/// One service the gateway knows, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAddress {
    /// Its name, as `bazaar up` knows it.
    pub name: &'static str,
    /// One `host:port` per replica (the flag's comma-separated list); calls balance across
    /// them.
    pub addresses: Vec<String>,
}

impl Config {
    /// Settings for a test: port 0, every service at `address_of(name)`, short deadlines.
    pub fn for_tests(data_dir: impl Into<PathBuf>, address_of: impl Fn(&str) -> String) -> Self {
        Self {
            server: ServerArgs::for_tests(data_dir),
            catalog_addr: address_of("catalog"),
            currency_addr: address_of("currency"),
            identity_addr: address_of("identity"),
            cart_addr: address_of("cart"),
            inventory_addr: address_of("inventory"),
            payment_addr: address_of("payment"),
            shipping_addr: address_of("shipping"),
            orders_addr: address_of("orders"),
            notification_addr: address_of("notification"),
            recommendation_addr: address_of("recommendation"),
            catalog_admin_addr: None,
            currency_admin_addr: None,
            identity_admin_addr: None,
            cart_admin_addr: None,
            inventory_admin_addr: None,
            payment_admin_addr: None,
            shipping_admin_addr: None,
            orders_admin_addr: None,
            notification_admin_addr: None,
            recommendation_admin_addr: None,
            status_scrape_ms: 500,
            critical_deadline_ms: 2_000,
            optional_deadline_ms: 800,
            checkout_deadline_ms: 20_000,
            browse_cache_ms: 2_000,
            secure_cookies: false,
            rate_limit_per_second: 20,
            rate_limit_burst: 100,
            trust_forwarded_for: false,
            reuse_port: false,
            drain_linger_ms: 0,
        }
    }

    /// How long a stopping gateway serves the connections it has before closing the idle
    /// ones.
    pub fn drain_linger(&self) -> Duration {
        Duration::from_millis(self.drain_linger_ms)
    }

    /// Every service, in the order of `bazaar up`, with its addresses.
    pub fn services(&self) -> Vec<ServiceAddress> {
        [
            ("catalog", &self.catalog_addr),
            ("currency", &self.currency_addr),
            ("identity", &self.identity_addr),
            ("cart", &self.cart_addr),
            ("inventory", &self.inventory_addr),
            ("payment", &self.payment_addr),
            ("shipping", &self.shipping_addr),
            ("orders", &self.orders_addr),
            ("notification", &self.notification_addr),
            ("recommendation", &self.recommendation_addr),
        ]
        .into_iter()
        .map(|(name, list)| ServiceAddress {
            name,
            addresses: split_addresses(list),
        })
        .collect()
    }

    /// Where each service's admin listener is, in the order of [`Config::services`]: its
    /// `--<service>-admin-addr`, or the host of its first `--<service>-addr` on the
    /// service table's admin port.
    pub fn admin_targets(&self) -> Vec<(&'static str, String)> {
        let given = [
            &self.catalog_admin_addr,
            &self.currency_admin_addr,
            &self.identity_admin_addr,
            &self.cart_admin_addr,
            &self.inventory_admin_addr,
            &self.payment_admin_addr,
            &self.shipping_admin_addr,
            &self.orders_admin_addr,
            &self.notification_admin_addr,
            &self.recommendation_admin_addr,
        ];
        self.services()
            .into_iter()
            .zip(given)
            .map(|(service, given)| {
                let address = given.clone().unwrap_or_else(|| {
                    let port =
                        chassis::topology::find(service.name).map_or(0, |spec| spec.admin_port);
                    let first = service
                        .addresses
                        .first()
                        .map_or("127.0.0.1", String::as_str);
                    format!("{}:{port}", host_of(first))
                });
                (service.name, address)
            })
            .collect()
    }

    /// Sets the admin address of `service` (tests, which know the real ones); false when
    /// there is no such service.
    pub fn set_admin_addr(&mut self, service: &str, address: String) -> bool {
        let slot = match service {
            "catalog" => &mut self.catalog_admin_addr,
            "currency" => &mut self.currency_admin_addr,
            "identity" => &mut self.identity_admin_addr,
            "cart" => &mut self.cart_admin_addr,
            "inventory" => &mut self.inventory_admin_addr,
            "payment" => &mut self.payment_admin_addr,
            "shipping" => &mut self.shipping_admin_addr,
            "orders" => &mut self.orders_admin_addr,
            "notification" => &mut self.notification_admin_addr,
            "recommendation" => &mut self.recommendation_admin_addr,
            _ => return false,
        };
        *slot = Some(address);
        true
    }

    /// How often the status page scrapes metrics.
    pub fn status_scrape_every(&self) -> Duration {
        Duration::from_millis(self.status_scrape_ms.max(100))
    }

    /// Deadlines of the three kinds of call.
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            critical: Duration::from_millis(self.critical_deadline_ms.max(1)),
            optional: Duration::from_millis(self.optional_deadline_ms.max(1)),
            checkout: Duration::from_millis(self.checkout_deadline_ms.max(1)),
        }
    }

    /// How long what every shopper sees alike is kept ([`crate::shop::shelves`]).
    pub fn browse_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.browse_cache_ms)
    }
}

/// The host of `host:port` (`[v6]:port` keeps its brackets).
fn host_of(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(host, _)| host)
}

/// How long each kind of downstream call may take.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// Catalog, cart, identity and orders reads.
    pub critical: Duration,
    /// Currency, recommendation, notification, health checks.
    pub optional: Duration,
    /// PlaceOrder.
    pub checkout: Duration,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn admin_addresses_default_to_the_services_host_on_its_admin_port() {
        let config = Config::parse_from([
            "gateway",
            "--orders-addr",
            "10.0.0.8:50058,10.0.0.9:50058",
            "--cart-admin-addr",
            "cart.internal:19454",
        ]);
        let targets = config.admin_targets();
        let of = |name: &str| {
            targets
                .iter()
                .find(|(service, _)| *service == name)
                .map(|(_, address)| address.as_str())
        };
        assert_eq!(targets.len(), 10);
        assert_eq!(of("catalog"), Some("127.0.0.1:9451"));
        assert_eq!(of("orders"), Some("10.0.0.8:9458"));
        assert_eq!(of("cart"), Some("cart.internal:19454"));
        assert_eq!(host_of("[::1]:50051"), "[::1]");
    }
}
