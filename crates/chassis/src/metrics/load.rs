//! The load of the process's servers: `bazaar_server_in_flight_calls` (calls admitted and not
//! finished, streams until they close) and `bazaar_server_refused_total{reason}` (calls the
//! concurrency limit refused). The limit (`crate::limit`) records them, and keeps its own
//! gauge, `bazaar_server_concurrency_limit`.
//!
//! The in-flight gauge moves twice a call, so its handle is taken once, when a recorder is
//! installed, and reused; before that nothing is recorded.

use std::sync::OnceLock;

use metrics::Gauge;

/// The `bazaar_server_in_flight_calls` gauge, once a recorder is installed.
fn in_flight() -> Option<&'static Gauge> {
    static GAUGE: OnceLock<Gauge> = OnceLock::new();
    if let Some(gauge) = GAUGE.get() {
        return Some(gauge);
    }
    if !super::installed() {
        return None;
    }
    Some(GAUGE.get_or_init(|| metrics::gauge!("bazaar_server_in_flight_calls")))
}

/// A call was admitted; whether it was counted (so that its end is counted only then, even
/// if a recorder is installed in between).
pub(crate) fn call_admitted() -> bool {
    in_flight().inspect(|gauge| gauge.increment(1)).is_some()
}

/// An admitted call that [`call_admitted`] counted finished.
pub(crate) fn call_finished() {
    if let Some(gauge) = in_flight() {
        gauge.decrement(1);
    }
}

/// A call was refused because the process was over its concurrency limit (or its ceiling).
pub(crate) fn call_refused() {
    metrics::counter!("bazaar_server_refused_total", "reason" => "limit").increment(1);
}
