//! `bazaar status`: the health of every service, as a table.

use std::time::Duration;

use chassis::tls::Tls;

use crate::health::{self, Health};
use crate::services::SERVICES;

/// The address of a service: `BAZAAR_<NAME>_ADDR` (its first address) or the default port.
pub fn address_of(name: &str, port: u16) -> String {
    let variable = format!("BAZAAR_{}_ADDR", name.to_uppercase());
    std::env::var(variable)
        .ok()
        .and_then(|list| chassis::config::split_addresses(&list).into_iter().next())
        .unwrap_or_else(|| format!("127.0.0.1:{port}"))
}

/// Checks every service over `tls` and prints a table; true when all are SERVING.
pub async fn run(tls: &Tls) -> bool {
    let checks = SERVICES.iter().map(|service| {
        let tls = tls.clone();
        async move {
            let address = address_of(service.name, service.port);
            let (health, took) =
                health::check_service(service, &address, Duration::from_secs(2), &tls).await;
            (service.name, address, health, took)
        }
    });
    let results = futures_join_all(checks).await;
    println!(
        "{:<16} {:<22} {:<12} {:>9}",
        "SERVICE", "ADDRESS", "STATE", "LATENCY"
    );
    let mut all_serving = true;
    for (name, address, health, took) in results {
        all_serving &= health == Health::Serving;
        let latency = match health {
            Health::Down(_) => "-".to_owned(),
            _ => format!("{:.1}ms", took.as_secs_f64() * 1000.0),
        };
        println!(
            "{name:<16} {address:<22} {:<12} {latency:>9}",
            health.label()
        );
    }
    all_serving
}

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(output) => outputs.push(output),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    outputs
}
