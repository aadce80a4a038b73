//! `bazaar status`: the health of every service, as a table.

use std::time::Duration;

use chassis::discovery::Registry;
use chassis::tls::Tls;

use crate::health::{self, Health};
use crate::services::SERVICES;

/// Where the replicas of a service are: every address of `BAZAAR_<NAME>_ADDR` (a
/// `registry:PATH` entry read from that registry), else the replicas `registry` lists, else
/// the default port on 127.0.0.1.
pub fn addresses_of(name: &str, port: u16, registry: Option<&Registry>) -> Vec<String> {
    let variable = format!("BAZAAR_{}_ADDR", name.to_uppercase());
    let mut addresses = Vec::new();
    let configured = std::env::var(variable).unwrap_or_default();
    for entry in chassis::config::split_addresses(&configured) {
        match entry.strip_prefix("registry:") {
            Some(path) => {
                if let Ok(listed) = Registry::read(std::path::Path::new(path)) {
                    addresses.extend(listed.replicas(name).iter().cloned());
                }
            }
            None => addresses.push(entry),
        }
    }
    if addresses.is_empty()
        && let Some(registry) = registry
    {
        addresses.extend(registry.replicas(name).iter().cloned());
    }
    if addresses.is_empty() {
        addresses.push(format!("127.0.0.1:{port}"));
    }
    addresses
}

/// Checks every replica of every service over `tls` and prints a table; true when all are
/// SERVING. Replicas are found as [`addresses_of`] says, with the registry of `data_dir`
/// (written by `bazaar up`) when there is one.
pub async fn run(tls: &Tls, data_dir: &std::path::Path) -> bool {
    let registry = Registry::read(&crate::up::registry_file(data_dir)).ok();
    let mut rows = Vec::new();
    for service in SERVICES {
        let addresses = addresses_of(service.name, service.port, registry.as_ref());
        for (replica, address) in addresses.into_iter().enumerate() {
            rows.push((
                service,
                crate::up::replica_label(service.name, replica),
                address,
            ));
        }
    }
    let checks = rows.into_iter().map(|(service, name, address)| {
        let tls = tls.clone();
        async move {
            let (health, took) =
                health::check_service(service, &address, Duration::from_secs(2), &tls).await;
            (name, address, health, took)
        }
    });
    let results = futures_join_all(checks).await;
    println!(
        "{:<18} {:<22} {:<12} {:>9}",
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
            "{name:<18} {address:<22} {:<12} {latency:>9}",
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
