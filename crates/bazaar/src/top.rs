//! `bazaar top`: the status page's vital signs, live in the terminal. Every service's calls
//! a second, error ratio, p50 and p99, the orders a minute by state and each event
//! consumer's lag, redrawn every [`EVERY`] until Ctrl-C; `--once` prints one table and
//! exits, for scripts and tests.
//!
//! It scrapes the services' admin listeners itself, with the storefront's
//! [`gateway::vitals::Board`]: the numbers are computed by the same code as the page's.
//! Where the listeners are comes from `<data-dir>/prometheus/targets.json`, the discovery
//! file `bazaar up` writes for Prometheus, when it exists; otherwise each service is
//! looked for on 127.0.0.1 at its admin port of the service table.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use gateway::pages::charts::{millis, or_dash, per_second, percent};
use gateway::vitals::{Board, Target, Vitals};

/// How often the table is redrawn (and the services scraped).
pub const EVERY: Duration = Duration::from_secs(2);

/// Clears the terminal and puts the cursor top left.
const CLEAR: &str = "\x1b[2J\x1b[H";

/// Where every gRPC service's admin listener is: from `<data_dir>/prometheus/targets.json`
/// when it exists (the first target of each service it names), else the service table's
/// defaults on 127.0.0.1.
///
/// # Errors
///
/// When the file exists but cannot be read or is not a discovery file.
pub fn targets(data_dir: &Path) -> Result<Vec<Target>, String> {
    let listed = crate::targets::read(&crate::targets::file(data_dir))?;
    Ok(chassis::topology::grpc_services()
        .map(|spec| {
            let address = listed
                .as_ref()
                .and_then(|listed| listed.iter().find(|target| target.service == spec.name))
                .map_or_else(
                    || format!("127.0.0.1:{}", spec.admin_port),
                    |target| target.address.clone(),
                );
            Target {
                service: spec.name,
                address,
            }
        })
        .collect())
}

/// The table, as printed.
pub fn table(vitals: &Vitals) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<26} {:>9} {:>8} {:>9} {:>9}",
        "SERVICE", "METRICS", "CALLS", "ERRORS", "P50", "P99"
    );
    for service in &vitals.services {
        let _ = writeln!(
            out,
            "{:<16} {:<26} {:>9} {:>8} {:>9} {:>9}",
            service.name,
            service.metrics.label(),
            or_dash(service.requests_per_second, per_second),
            or_dash(service.error_ratio, percent),
            or_dash(service.p50_seconds, millis),
            or_dash(service.p99_seconds, millis),
        );
    }
    let orders = if vitals.orders_per_minute.is_empty() {
        "not known yet".to_owned()
    } else {
        vitals
            .orders_per_minute
            .iter()
            .map(|o| format!("{} {:.1}", o.state, o.per_minute))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let _ = writeln!(out, "\norders a minute: {orders}");
    let consumers = if vitals.consumers.is_empty() {
        "no consumer has reported its position yet".to_owned()
    } else {
        vitals
            .consumers
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.consumer,
                    c.lag.map_or_else(|| "?".to_owned(), |lag| format!("{lag}"))
                )
            })
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let _ = writeln!(out, "consumer lag (events): {consumers}");
    if !vitals.faults.is_empty() {
        let faults = vitals
            .faults
            .iter()
            .map(|f| format!("{} {} {} {}", f.service, f.method, f.fault, percent(f.rate)))
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = writeln!(out, "FAULTS INJECTED: {faults}");
    }
    let _ = writeln!(
        out,
        "figures over the last {:.0} s; services' own calls, health checks aside",
        vitals.window_secs
    );
    out
}

/// Prints the table: once (after two scrapes [`EVERY`] apart, which a rate needs), or
/// redrawn every [`EVERY`] until `shutdown`.
pub async fn run(targets: Vec<Target>, once: bool, shutdown: Shutdown) {
    let board: Arc<Board> = Board::new(targets);
    board.scrape_all().await;
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = shutdown.wait() => return,
        }
        board.scrape_all().await;
        let table = table(&board.vitals());
        if once {
            print!("{table}");
            return;
        }
        print!(
            "{CLEAR}bazaar top · every {} s · Ctrl-C to quit\n\n{table}",
            EVERY.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_discovery_file_of_bazaar_up() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = targets(dir.path()).unwrap();
        assert_eq!(defaults[0].address, "127.0.0.1:9451");
        std::fs::create_dir_all(dir.path().join("prometheus")).unwrap();
        std::fs::write(
            dir.path().join("prometheus/targets.json"),
            r#"[{"targets":["10.0.0.1:19451"],"labels":{"service":"catalog"}},
                {"targets":["127.0.0.1:9450"],"labels":{"service":"bazaar-up"}}]"#,
        )
        .unwrap();
        let listed = targets(dir.path()).unwrap();
        assert_eq!(listed[0].service, "catalog");
        assert_eq!(listed[0].address, "10.0.0.1:19451");
        assert_eq!(listed[1].address, "127.0.0.1:9452");
        std::fs::write(dir.path().join("prometheus/targets.json"), "{}").unwrap();
        assert!(targets(dir.path()).unwrap_err().contains("not a list"));
    }
}
