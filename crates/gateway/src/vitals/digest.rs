//! A scrape of one service, digested to the sums the vital signs need, under the
//! catalogue's own metric names so that [`chassis::scrape::over_time`] reads them as it
//! reads any scrape:
//!
//! - `grpc_server_handled_total{outcome}`: the service's own calls (its `grpc_service` is
//!   `bazaar.<service>.…`; health checks and reflection are not the shop's traffic),
//!   summed into `outcome="ok"` and `outcome="fault"` ([`FAULT_CODES`]);
//! - `grpc_server_handling_seconds_bucket{le}`: its calls' latency buckets, summed over
//!   methods;
//! - `bazaar_orders_total{state}`, `bazaar_outbox_head`, `bazaar_consumer_position{consumer}`
//!   and the injected faults, `bazaar_chaos_faults_active{grpc_method,fault}`, as they are.
//!
//! Summing series of one process loses nothing the page shows: they reset together, when
//! the process restarts, and the sum then resets too.

use std::collections::BTreeMap;

use chassis::scrape::{Exposition, Labels, Sample};

/// The gRPC codes that say the service failed its caller, rather than that the caller
/// asked for something wrong or missing (`NotFound`, `InvalidArgument`, ... are answers,
/// not faults): these make the error ratio.
pub const FAULT_CODES: &[&str] = &[
    "Unknown",
    "DeadlineExceeded",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "ResourceExhausted",
];

/// Calls handled, by outcome.
pub const HANDLED: &str = "grpc_server_handled_total";
/// Call latency.
pub const HANDLING: &str = "grpc_server_handling_seconds";
/// Orders by final state.
pub const ORDERS: &str = "bazaar_orders_total";
/// The highest event sequence orders wrote.
pub const OUTBOX_HEAD: &str = "bazaar_outbox_head";
/// The sequence each consumer handled.
pub const CONSUMER_POSITION: &str = "bazaar_consumer_position";
/// The faults injected into the service's calls, by method and fault, valued by rate.
pub const FAULTS_ACTIVE: &str = "bazaar_chaos_faults_active";

/// The digest of `exposition`, a scrape of `service`.
pub fn digest(service: &str, exposition: &Exposition) -> Exposition {
    let prefix = format!("bazaar.{service}.");
    let own = |labels: &Labels| {
        labels
            .get("grpc_service")
            .is_some_and(|name| name.starts_with(&prefix))
    };
    let mut samples = Vec::new();

    let mut outcomes: BTreeMap<&str, f64> = BTreeMap::new();
    for sample in exposition.select(HANDLED, &own) {
        let fault = sample
            .labels
            .get("grpc_code")
            .is_some_and(|code| FAULT_CODES.contains(&code));
        *outcomes
            .entry(if fault { "fault" } else { "ok" })
            .or_default() += sample.value;
    }
    for (outcome, value) in outcomes {
        samples.push(sample(HANDLED, &[("outcome", outcome)], value));
    }

    let bucket = format!("{HANDLING}_bucket");
    let mut buckets: BTreeMap<String, f64> = BTreeMap::new();
    for sample in exposition.select(&bucket, &own) {
        if let Some(le) = sample.labels.get("le") {
            *buckets.entry(le.to_owned()).or_default() += sample.value;
        }
    }
    for (le, value) in buckets {
        samples.push(sample(&bucket, &[("le", &le)], value));
    }

    samples.extend(by_label(exposition, ORDERS, "state", |a, b| a + b));
    if let Some(head) = exposition.sum(OUTBOX_HEAD, &|_| true) {
        samples.push(sample(OUTBOX_HEAD, &[], head));
    }
    samples.extend(by_label(
        exposition,
        CONSUMER_POSITION,
        "consumer",
        f64::max,
    ));
    for found in exposition.select(FAULTS_ACTIVE, &|_| true) {
        samples.push(sample(
            FAULTS_ACTIVE,
            &[
                (
                    "grpc_method",
                    found.labels.get("grpc_method").unwrap_or_default(),
                ),
                ("fault", found.labels.get("fault").unwrap_or_default()),
            ],
            found.value,
        ));
    }
    Exposition::from_samples(samples)
}

/// The samples of `name` folded by their label `by`.
fn by_label(
    exposition: &Exposition,
    name: &str,
    by: &str,
    fold: impl Fn(f64, f64) -> f64,
) -> Vec<Sample> {
    let mut folded: BTreeMap<String, f64> = BTreeMap::new();
    for found in exposition.select(name, &|_| true) {
        let key = found.labels.get(by).unwrap_or_default().to_owned();
        let value = folded
            .get(&key)
            .map_or(found.value, |&before| fold(before, found.value));
        folded.insert(key, value);
    }
    folded
        .into_iter()
        .map(|(key, value)| sample(name, &[(by, &key)], value))
        .collect()
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: Labels::new(
            labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        ),
        value,
    }
}
