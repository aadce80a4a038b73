//! Reading other processes' metrics: what a dashboard needs from Prometheus without a
//! Prometheus.
//!
//! - [`exposition`]: a parser of the Prometheus text exposition format (counters, gauges,
//!   histograms with their `le` buckets, escaped label values). It skips lines it does not
//!   understand and never panics, whatever it is given; it keeps at most
//!   [`exposition::MAX_SAMPLES`] samples, so a runaway target costs a bounded amount of
//!   memory.
//! - [`fetch`]: `GET http://<addr>/metrics` over HTTP/1.1 on a plain socket, with a time
//!   limit and a cap on the size of the answer.
//! - [`over_time`]: the arithmetic on two or more scrapes of one target taken over time,
//!   as PromQL does it: the increase and rate of a counter (a counter that went down was
//!   reset, and counts again from zero), the ratio of two increases, and quantiles from
//!   the increases of histogram buckets (`histogram_quantile`).
//!
//! It knows nothing of the shop: which metric means what is for its callers (the
//! storefront's status page and `bazaar top`) to say. It is for a small number of targets
//! scraped every few seconds; a real Prometheus (see `deploy/prometheus/`) is what keeps
//! history beyond minutes and alerts.

pub mod exposition;
pub mod fetch;
pub mod over_time;

pub use exposition::{Exposition, Labels, Sample};
pub use fetch::{FetchError, fetch};
pub use over_time::{Scrape, histogram_quantile};
