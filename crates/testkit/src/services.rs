//! The ten services as the shop starts them: what each calls (and so which address flags
//! it takes), whether it keeps a SQL store, the flags tests want, and how to run one from
//! its library.

use chassis::Shutdown;
use clap::Parser;
use tokio::sync::oneshot;

/// One service of the shop, as a test starts it.
#[derive(Debug)]
pub struct Spec {
    /// Its name.
    pub name: &'static str,
    /// The services it calls; each becomes a `--<callee>-addr` flag.
    pub calls: &'static [&'static str],
    /// Whether it keeps a SQL store (`--database-url`).
    pub sql: bool,
    /// Flags that make it quick to test: short retries, polls and leases.
    pub test_flags: &'static [(&'static str, &'static str)],
}

/// Every service, callees before callers.
pub const SERVICES: &[Spec] = &[
    Spec {
        name: catalog::NAME,
        calls: &[],
        sql: true,
        test_flags: &[],
    },
    Spec {
        name: currency::NAME,
        calls: &[],
        sql: false,
        test_flags: &[],
    },
    Spec {
        name: identity::NAME,
        calls: &[],
        sql: true,
        test_flags: &[
            ("admin-emails", crate::ADMIN_EMAIL),
            // Every test client is 127.0.0.1: the per-client limit is not what is tested.
            ("client-attempts-per-minute", "100000"),
        ],
    },
    Spec {
        name: cart::NAME,
        calls: &[identity::NAME],
        sql: true,
        test_flags: &[],
    },
    Spec {
        name: inventory::NAME,
        calls: &[identity::NAME],
        sql: true,
        test_flags: &[("sweep-interval-ms", "200")],
    },
    Spec {
        name: payment::NAME,
        calls: &[],
        sql: true,
        test_flags: &[],
    },
    Spec {
        name: shipping::NAME,
        calls: &[],
        sql: true,
        test_flags: &[],
    },
    Spec {
        name: orders::NAME,
        calls: &[
            identity::NAME,
            cart::NAME,
            catalog::NAME,
            currency::NAME,
            inventory::NAME,
            payment::NAME,
            shipping::NAME,
        ],
        sql: true,
        test_flags: &[
            ("retry-initial-ms", "20"),
            ("retry-max-ms", "300"),
            ("saga-lease-ms", "2000"),
            ("recovery-interval-ms", "200"),
            ("event-poll-ms", "100"),
        ],
    },
    Spec {
        name: notification::NAME,
        calls: &[orders::NAME],
        sql: true,
        test_flags: &[("orders-reconnect-max-ms", "300")],
    },
    Spec {
        name: recommendation::NAME,
        calls: &[catalog::NAME, orders::NAME],
        sql: false,
        test_flags: &[("orders-reconnect-max-ms", "300")],
    },
];

/// The `'static` name of `service`.
///
/// # Panics
/// If there is no such service (a mistake in the test).
pub fn name(service: &str) -> &'static str {
    SERVICES
        .iter()
        .find(|s| s.name == service)
        .map(|s| s.name)
        .unwrap_or_else(|| panic!("there is no service {service:?}"))
}

/// Parses `args` with the service's own `Config`, binds (telling `bound` how that went),
/// and serves until `shutdown`.
pub async fn run(
    name: &'static str,
    args: Vec<String>,
    shutdown: Shutdown,
    bound: oneshot::Sender<Result<(), String>>,
) -> Result<(), String> {
    let argv = std::iter::once(name.to_owned()).chain(args);
    // The same three steps for every service; only the types differ.
    macro_rules! serve {
        ($krate:ident, $service:ident) => {{
            let config = $krate::Config::try_parse_from(argv).map_err(|e| e.to_string());
            let service = match config {
                Ok(config) => $krate::$service::bind(&config)
                    .await
                    .map_err(|e| chassis::error::chain(&e)),
                Err(error) => Err(error),
            };
            match service {
                Ok(service) => {
                    let _ = bound.send(Ok(()));
                    service
                        .run(shutdown)
                        .await
                        .map_err(|e| chassis::error::chain(&e))
                }
                Err(error) => {
                    let _ = bound.send(Err(error.clone()));
                    Err(error)
                }
            }
        }};
    }
    match name {
        catalog::NAME => serve!(catalog, Catalog),
        currency::NAME => serve!(currency, CurrencyService),
        identity::NAME => serve!(identity, Identity),
        cart::NAME => serve!(cart, CartServer),
        inventory::NAME => serve!(inventory, Inventory),
        payment::NAME => serve!(payment, Payment),
        shipping::NAME => serve!(shipping, Shipping),
        orders::NAME => serve!(orders, Orders),
        notification::NAME => serve!(notification, Notifier),
        recommendation::NAME => serve!(recommendation, Recommender),
        other => Err(format!("there is no service {other:?}")),
    }
}
