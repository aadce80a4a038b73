//! The settings of orders: the shared server flags, identity (to verify callers), its
//! store, where the services it calls are, and the knobs of the checkout saga.

use std::time::Duration;

use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use clap::Parser;

/// Settings of the orders service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "orders",
    about = "The bazaar orders service: checkout, orders and the order event stream."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Where identity is, for the keys that verify callers' tokens.
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `orders.db` in the data directory.
    #[arg(long, env = "BAZAAR_ORDERS_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,

    /// Address(es) of the cart service, comma-separated.
    #[arg(long, env = "BAZAAR_CART_ADDR", default_value = "127.0.0.1:50054")]
    pub cart_addr: String,

    /// Address(es) of the catalog service, comma-separated.
    #[arg(long, env = "BAZAAR_CATALOG_ADDR", default_value = "127.0.0.1:50051")]
    pub catalog_addr: String,

    /// Address(es) of the currency service, comma-separated.
    #[arg(long, env = "BAZAAR_CURRENCY_ADDR", default_value = "127.0.0.1:50052")]
    pub currency_addr: String,

    /// Address(es) of the inventory service, comma-separated.
    #[arg(long, env = "BAZAAR_INVENTORY_ADDR", default_value = "127.0.0.1:50055")]
    pub inventory_addr: String,

    /// Address(es) of the payment service, comma-separated.
    #[arg(long, env = "BAZAAR_PAYMENT_ADDR", default_value = "127.0.0.1:50056")]
    pub payment_addr: String,

    /// Address(es) of the shipping service, comma-separated.
    #[arg(long, env = "BAZAAR_SHIPPING_ADDR", default_value = "127.0.0.1:50057")]
    pub shipping_addr: String,

    /// Longest time, in milliseconds, PlaceOrder waits for its saga before it answers with
    /// the order still PENDING (never longer than the caller's deadline allows).
    #[arg(
        long,
        env = "BAZAAR_ORDERS_PLACE_ORDER_WAIT_MS",
        default_value_t = 8_000
    )]
    pub place_order_wait_ms: u64,

    /// Longest time, in milliseconds, one currency call may take before the order is priced
    /// in US dollars instead (currency is an optional feature).
    #[arg(
        long,
        env = "BAZAAR_ORDERS_CURRENCY_TIMEOUT_MS",
        default_value_t = 1_000
    )]
    pub currency_timeout_ms: u64,

    /// First delay, in milliseconds, before a saga step that failed for a technical reason
    /// is tried again; it doubles on each failure up to `--retry-max-ms`.
    #[arg(long, env = "BAZAAR_ORDERS_RETRY_INITIAL_MS", default_value_t = 100)]
    pub retry_initial_ms: u64,

    /// Longest delay, in milliseconds, between two tries of a saga step.
    #[arg(long, env = "BAZAAR_ORDERS_RETRY_MAX_MS", default_value_t = 10_000)]
    pub retry_max_ms: u64,

    /// How long, in seconds, the charge may keep failing for technical reasons before the
    /// checkout gives up, refunds whatever may have been charged, and fails the order.
    #[arg(long, env = "BAZAAR_ORDERS_CHARGE_GIVE_UP_SECS", default_value_t = 300)]
    pub charge_give_up_secs: u64,

    /// How long, in seconds, stock is reserved for a checkout (1..=3600). By default the
    /// charge's retry budget (`--charge-give-up-secs`) plus `--reservation-margin-secs`: a
    /// PENDING order holds stock no longer than its charge may take. A reservation that
    /// expires anyway (shipping slow after the charge) is made again.
    #[arg(long, env = "BAZAAR_ORDERS_RESERVATION_TTL_SECS")]
    pub reservation_ttl_secs: Option<u64>,

    /// What the default reservation lasts beyond the charge's retry budget, in seconds:
    /// time for the reservation call itself, the shipment and the commit.
    #[arg(
        long,
        env = "BAZAAR_ORDERS_RESERVATION_MARGIN_SECS",
        default_value_t = 60
    )]
    pub reservation_margin_secs: u64,

    /// Most PENDING orders one caller may have at once (at least 1); PlaceOrder beyond it
    /// is refused with RESOURCE_EXHAUSTED (reason TOO_MANY_PENDING_ORDERS) before anything
    /// is priced or reserved.
    #[arg(
        long,
        env = "BAZAAR_ORDERS_MAX_PENDING_PER_CALLER",
        default_value_t = 3
    )]
    pub max_pending_per_caller: u32,

    /// Most StreamOrderEvents streams open at once in this process (at least 1); one
    /// more is refused with RESOURCE_EXHAUSTED (reason TOO_MANY_SUBSCRIBERS).
    #[arg(long, env = "BAZAAR_ORDERS_MAX_EVENT_STREAMS", default_value_t = 64)]
    pub max_event_streams: u32,

    /// How long, in milliseconds, a process owns a running saga without renewing it; after
    /// that another process (or this one after a crash) takes the saga over.
    #[arg(long, env = "BAZAAR_ORDERS_SAGA_LEASE_MS", default_value_t = 30_000)]
    pub saga_lease_ms: u64,

    /// How often, in milliseconds, the store is searched for unfinished sagas that no
    /// process owns (after a crash), to resume them.
    #[arg(
        long,
        env = "BAZAAR_ORDERS_RECOVERY_INTERVAL_MS",
        default_value_t = 5_000
    )]
    pub recovery_interval_ms: u64,

    /// How often, in milliseconds, the process's one reader of the outbox looks for new
    /// events written by other replicas, for every open stream (events of this process are
    /// sent at once).
    #[arg(long, env = "BAZAAR_ORDERS_EVENT_POLL_MS", default_value_t = 1_000)]
    pub event_poll_ms: u64,
}

impl Config {
    /// The settings a test wants: port 0, data in `data_dir`, the services it calls at the
    /// given addresses (`[cart, catalog, currency, inventory, payment, shipping]`), and
    /// fast retries.
    pub fn for_tests(data_dir: impl Into<std::path::PathBuf>, addresses: [String; 6]) -> Self {
        let [cart, catalog, currency, inventory, payment, shipping] = addresses;
        Self {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: None,
            cart_addr: cart,
            catalog_addr: catalog,
            currency_addr: currency,
            inventory_addr: inventory,
            payment_addr: payment,
            shipping_addr: shipping,
            place_order_wait_ms: 8_000,
            currency_timeout_ms: 1_000,
            retry_initial_ms: 10,
            retry_max_ms: 100,
            charge_give_up_secs: 300,
            reservation_ttl_secs: None,
            reservation_margin_secs: 60,
            max_pending_per_caller: 3,
            max_event_streams: 64,
            saga_lease_ms: 30_000,
            recovery_interval_ms: 200,
            event_poll_ms: 200,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .store_url(self.database_url.as_ref(), "orders.db")
    }

    /// How long stock is reserved for a checkout: `--reservation-ttl-secs` if given, else
    /// the charge's retry budget plus the margin; within what inventory accepts (1 s..=1 h).
    pub fn reservation_ttl(&self) -> Duration {
        let secs = self.reservation_ttl_secs.unwrap_or_else(|| {
            self.charge_give_up_secs
                .saturating_add(self.reservation_margin_secs)
        });
        Duration::from_secs(secs.clamp(1, 3_600))
    }

    /// The caps on what callers may hold, from the settings.
    pub fn limits(&self) -> Limits {
        Limits {
            max_pending_per_caller: self.max_pending_per_caller.max(1),
            max_event_streams: self.max_event_streams.max(1) as usize,
        }
    }

    /// The saga's timing, from the settings.
    pub fn timing(&self) -> Timing {
        Timing {
            place_order_wait: Duration::from_millis(self.place_order_wait_ms),
            currency_timeout: Duration::from_millis(self.currency_timeout_ms.max(1)),
            retry_initial: Duration::from_millis(self.retry_initial_ms.max(1)),
            retry_max: Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms).max(1)),
            charge_give_up_ms: i64::try_from(self.charge_give_up_secs.saturating_mul(1_000))
                .unwrap_or(i64::MAX),
            reservation_ttl_secs: self.reservation_ttl().as_secs() as i64,
            lease_ms: i64::try_from(self.saga_lease_ms.max(1_000)).unwrap_or(i64::MAX),
            recovery_interval: Duration::from_millis(self.recovery_interval_ms.max(10)),
            event_poll: Duration::from_millis(self.event_poll_ms.max(10)),
        }
    }
}

/// The time settings of the saga, parsed once.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// See [`Config::place_order_wait_ms`].
    pub place_order_wait: Duration,
    /// See [`Config::currency_timeout_ms`].
    pub currency_timeout: Duration,
    /// See [`Config::retry_initial_ms`].
    pub retry_initial: Duration,
    /// See [`Config::retry_max_ms`].
    pub retry_max: Duration,
    /// See [`Config::charge_give_up_secs`], in milliseconds.
    pub charge_give_up_ms: i64,
    /// See [`Config::reservation_ttl`], in seconds.
    pub reservation_ttl_secs: i64,
    /// See [`Config::saga_lease_ms`].
    pub lease_ms: i64,
    /// See [`Config::recovery_interval_ms`].
    pub recovery_interval: Duration,
    /// See [`Config::event_poll_ms`].
    pub event_poll: Duration,
}

/// The caps on what callers may hold in orders, parsed once.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// See [`Config::max_pending_per_caller`].
    pub max_pending_per_caller: u32,
    /// See [`Config::max_event_streams`].
    pub max_event_streams: usize,
}
