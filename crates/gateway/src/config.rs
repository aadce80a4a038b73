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
            critical_deadline_ms: 2_000,
            optional_deadline_ms: 800,
            checkout_deadline_ms: 20_000,
            secure_cookies: false,
            rate_limit_per_second: 20,
            rate_limit_burst: 100,
            trust_forwarded_for: false,
        }
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

    /// Deadlines of the three kinds of call.
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            critical: Duration::from_millis(self.critical_deadline_ms.max(1)),
            optional: Duration::from_millis(self.optional_deadline_ms.max(1)),
            checkout: Duration::from_millis(self.checkout_deadline_ms.max(1)),
        }
    }
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
