//! The gRPC services as the test shop starts them: the command line's registry
//! (`bazaar::services`, the chassis's service table bound to each implementation), plus the
//! flags that make each quick to test.

use std::ffi::OsString;

use chassis::Shutdown;
use chassis::service::{Launch, Overrides};
use chassis::topology::Spec;
use tokio::sync::oneshot;

/// Flags that make a service quick to test: short retries, polls and leases.
pub(crate) fn test_flags(service: &str) -> &'static [(&'static str, &'static str)] {
    match service {
        "identity" => &[
            // Every test client is 127.0.0.1: the per-client limit is not what is tested.
            ("client-attempts-per-minute", "100000"),
        ],
        "inventory" => &[("sweep-interval-ms", "200")],
        "orders" => &[
            ("retry-initial-ms", "20"),
            ("retry-max-ms", "300"),
            ("saga-lease-ms", "2000"),
            ("recovery-interval-ms", "200"),
            ("event-poll-ms", "100"),
        ],
        "notification" | "recommendation" => &[("orders-reconnect-max-ms", "300")],
        _ => &[],
    }
}

/// Every gRPC service, callees before callers.
pub(crate) fn grpc_services() -> impl Iterator<Item = &'static Spec> {
    chassis::topology::grpc_services()
}

/// The `'static` name of `service`.
///
/// # Panics
/// If there is no such gRPC service (a mistake in the test).
pub(crate) fn name(service: &str) -> &'static str {
    grpc_services()
        .find(|s| s.name == service)
        .map_or_else(|| panic!("there is no service {service:?}"), |s| s.name)
}

/// Parses `args` with the service's own `Config`, binds (telling `bound` how that went),
/// and serves until `shutdown`: the same path as `bazaar serve`, without the process's
/// telemetry set-up.
pub(crate) async fn run(
    name: &'static str,
    args: Vec<String>,
    shutdown: Shutdown,
    bound: oneshot::Sender<Result<(), String>>,
) -> Result<(), String> {
    let Some(runner) = bazaar::services::runner(name) else {
        let message = format!("there is no service {name:?}");
        let _ = bound.send(Err(message.clone()));
        return Err(message);
    };
    let (told, heard) = oneshot::channel();
    let overrides = Overrides::default();
    let launch = Launch {
        process: false,
        bound: Some(told),
        overrides,
    };
    let args = args.into_iter().map(OsString::from).collect();
    let running = runner.run(args, shutdown, launch);
    tokio::spawn(async move {
        let outcome = heard
            .await
            .unwrap_or_else(|_| Err(format!("{name} ended before binding")));
        let _ = bound.send(outcome.map(|_| ()));
    });
    running.await
}
