//! Metrics: one Prometheus recorder per process, behind the `metrics` facade.
//!
//! Every crate records through the `metrics` macros (`metrics::counter!`,
//! `metrics::histogram!`, ...); until [`install`] runs they go to the facade's no-op
//! recorder and cost next to nothing. A process that serves an admin listener (see
//! [`crate::admin`]) installs the Prometheus recorder once, and `/metrics` renders it.
//!
//! Histograms whose name ends in `_seconds` get the buckets of [`LATENCY_BUCKETS`], so
//! they are Prometheus histograms (`_bucket`, `_sum`, `_count`) that dashboards can
//! aggregate across replicas, not summaries.
//!
//! Label values must be bounded: a method, a status code, a state, a reason from a fixed
//! list; never an id, an e-mail or a raw path.
//!
//! What the chassis records itself:
//!
//! - `server`: the RED metrics of every call a server answers (`grpc_server_*`), a layer
//!   on the outside of the server's stack;
//! - `client`: the same of every outbound call (`grpc_client_*`, with the callee), a layer
//!   on the outside of every `Upstream`;
//! - `call`: the counting of one call, which both share, by the table of methods of
//!   `crate::rpc` (built once from the descriptor sets, so label values are fixed before
//!   the first call);
//! - `pool`: the stores' connection pools, sampled at each scrape;
//! - `process`: memory, CPU time and file descriptors from `/proc`, read at each scrape;
//! - `load`: the calls in flight and those refused by the server's in-flight limit.

mod call;
mod client;
pub(crate) mod load;
mod pool;
mod process;
mod server;

pub use call::{Counted, CountedBody};
pub(crate) use client::ClientMetricsLayer;
pub use server::{ServerMetrics, ServerMetricsLayer};

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Bucket bounds, in seconds, of every `*_seconds` histogram: from half a millisecond (a
/// cached read on loopback) to ten seconds (past every deadline the shop sets).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often recorded histogram samples are folded into their buckets when nobody scrapes
/// (the recorder keeps them until then; folding bounds the memory they take).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (the first call does; later calls return the
/// same handle). Recording works from then on, whoever records.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if let Err(error) = ::metrics::set_global_recorder(recorder) {
            // Another recorder was installed first (a test's): ours renders nothing, which
            // is better than failing the process.
            tracing::warn!(%error, "a metrics recorder is already installed");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || {
                loop {
                    #[allow(
                        clippy::disallowed_methods,
                        reason = "a thread of its own, not a tokio worker"
                    )]
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

/// Whether [`install`] has run in this process.
pub fn installed() -> bool {
    HANDLE.get().is_some()
}

/// Everything recorded so far, and what is sampled at a scrape (the stores' pools, the
/// process's figures), in the Prometheus text exposition format; empty when no recorder is
/// installed.
pub fn render() -> String {
    let Some(handle) = HANDLE.get() else {
        return String::new();
    };
    pool::sample();
    let mut text = handle.render();
    process::render(&mut text);
    text
}

/// Samples the connection pool of store `store` at every scrape, while it is open (see
/// `pool`). Nothing happens while no recorder is installed: a process without an admin
/// listener keeps no reference to its pools.
pub(crate) fn watch_pool(store: String, pool: &sqlx::AnyPool) {
    if installed() {
        pool::watch(store, pool);
    }
}
