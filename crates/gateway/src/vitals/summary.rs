//! Digested scrapes read into what the status page and `bazaar top` show: per service the
//! figures over the last [`WINDOW`] and one graph point per scrape interval; orders per
//! minute by state; each consumer's lag behind the outbox; the faults injected into each
//! service's calls (`bazaar chaos`), as its latest scrape says. Unknown stays unknown
//! (`None`): a service with no calls has no latency, not a latency of zero.

use serde::Serialize;

use chassis::scrape::over_time::{self, Scrape};

use super::Target;
use super::digest::{CONSUMER_POSITION, FAULTS_ACTIVE, HANDLED, HANDLING, ORDERS, OUTBOX_HEAD};

/// The time the figures are computed over.
pub const WINDOW_SECS: f64 = 60.0;
/// [`WINDOW_SECS`], as a duration.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// What scraping a service's metrics found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsState {
    /// Not scraped yet.
    Waiting,
    /// The last scrape answered.
    Scraped,
    /// The last scrape answered, with no metric at all.
    Empty,
    /// The last scrape got no answer.
    Unreachable,
}

impl MetricsState {
    /// As the page says it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting for a first scrape",
            Self::Scraped => "scraped",
            Self::Empty => "serves no metrics",
            Self::Unreachable => "metrics unreachable",
        }
    }
}

/// One graph point: the figures between two consecutive scrapes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// When the later scrape was taken, in seconds since the Unix epoch.
    pub at: f64,
    /// Calls a second.
    pub requests_per_second: Option<f64>,
    /// Share of calls that failed ([`super::digest::FAULT_CODES`]), 0 to 1.
    pub error_ratio: Option<f64>,
    /// Median latency, seconds.
    pub p50_seconds: Option<f64>,
    /// 99th percentile latency, seconds.
    pub p99_seconds: Option<f64>,
}

/// One service's vital signs.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceVitals {
    /// Its name in the service table.
    pub name: &'static str,
    /// Where its metrics are scraped.
    pub metrics_address: String,
    /// What the last scrape found.
    pub metrics: MetricsState,
    /// Why the last scrape failed, when it did.
    pub metrics_problem: Option<String>,
    /// Calls a second over the last minute.
    pub requests_per_second: Option<f64>,
    /// Share of calls that failed over the last minute, 0 to 1.
    pub error_ratio: Option<f64>,
    /// Median latency over the last minute, seconds.
    pub p50_seconds: Option<f64>,
    /// 99th percentile latency over the last minute, seconds.
    pub p99_seconds: Option<f64>,
    /// One point per scrape interval over the history, oldest first (for graphs; not in
    /// the JSON, which carries the figures).
    #[serde(skip)]
    pub history: Vec<Point>,
}

/// Orders that reached one state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrdersByState {
    /// The state (`placed`, `failed`, `cancelled`, ...).
    pub state: String,
    /// How many a minute, over the last minute.
    pub per_minute: f64,
}

/// How far one event consumer is behind the orders' outbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerLag {
    /// The consumer (`notification`, `recommendation`).
    pub consumer: String,
    /// The last event sequence it handled.
    pub position: f64,
    /// The highest sequence orders wrote, when known.
    pub head: Option<f64>,
    /// Events not handled yet: head − position, when the head is known.
    pub lag: Option<f64>,
}

/// A fault injected into a service's calls (see `bazaar chaos`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InjectedFault {
    /// The service, by its name in the service table.
    pub service: String,
    /// The method, or `*` for every method of the service.
    pub method: String,
    /// The status code answered (`Unavailable`), or `latency`.
    pub fault: String,
    /// The share of calls that meet it, 0 to 1.
    pub rate: f64,
}

/// The whole shop's vital signs.
#[derive(Clone, Debug, Serialize)]
pub struct Vitals {
    /// Every service, in the order of the service table.
    pub services: Vec<ServiceVitals>,
    /// Orders a minute by final state, over the last minute; empty while unknown.
    pub orders_per_minute: Vec<OrdersByState>,
    /// Each consumer's lag, as of the last scrapes.
    pub consumers: Vec<ConsumerLag>,
    /// The faults injected now, by service, method and fault: from each service's latest
    /// scrape, when it is within the window; empty when none.
    pub faults: Vec<InjectedFault>,
    /// The seconds the figures cover.
    pub window_secs: f64,
    /// When they were computed, in seconds since the Unix epoch.
    pub at: f64,
}

/// The scrapes of `scrapes` taken within the window before `now`.
fn window(scrapes: &[Scrape], now: f64) -> &[Scrape] {
    let start = scrapes
        .iter()
        .position(|scrape| scrape.at >= now - WINDOW_SECS)
        .unwrap_or(scrapes.len());
    // One scrape before the window anchors its first increase.
    &scrapes[start.saturating_sub(1)..]
}

/// The four figures over `scrapes`.
fn figures(scrapes: &[Scrape]) -> Point {
    let all = |_: &chassis::scrape::Labels| true;
    let faults = |labels: &chassis::scrape::Labels| labels.get("outcome") == Some("fault");
    Point {
        at: scrapes.last().map_or(0.0, |scrape| scrape.at),
        requests_per_second: over_time::rate(scrapes, HANDLED, &all),
        error_ratio: over_time::ratio(scrapes, (HANDLED, &faults), (HANDLED, &all)),
        p50_seconds: over_time::quantile(0.5, scrapes, HANDLING, &all),
        p99_seconds: over_time::quantile(0.99, scrapes, HANDLING, &all),
    }
}

/// One service's vital signs from its digested scrapes (oldest first).
pub(super) fn service(
    target: &Target,
    metrics: MetricsState,
    metrics_problem: Option<String>,
    scrapes: &[Scrape],
    now: f64,
) -> ServiceVitals {
    let latest = figures(window(scrapes, now));
    ServiceVitals {
        name: target.service,
        metrics_address: target.address.clone(),
        metrics,
        metrics_problem,
        requests_per_second: latest.requests_per_second,
        error_ratio: latest.error_ratio,
        p50_seconds: latest.p50_seconds,
        p99_seconds: latest.p99_seconds,
        history: scrapes.windows(2).map(figures).collect(),
    }
}

/// The shop's vital signs: `services`, and from every service's digested scrapes the
/// orders and the consumers.
pub(super) fn shop(
    services: Vec<ServiceVitals>,
    scrapes: &[(&str, Vec<Scrape>)],
    now: f64,
) -> Vitals {
    let of = |name: &str| {
        scrapes
            .iter()
            .find(|(service, _)| *service == name)
            .map_or(&[][..], |(_, scrapes)| scrapes.as_slice())
    };
    let orders = window(of("orders"), now);
    let orders_per_minute = over_time::span(orders)
        .zip(over_time::increase_by(orders, ORDERS, &|_| true, "state"))
        .map(|(seconds, by_state)| {
            by_state
                .into_iter()
                .map(|(state, gained)| OrdersByState {
                    state,
                    per_minute: gained * 60.0 / seconds,
                })
                .collect()
        })
        .unwrap_or_default();
    let head = of("orders")
        .last()
        .and_then(|scrape| scrape.exposition.sum(OUTBOX_HEAD, &|_| true));
    let mut positions: std::collections::BTreeMap<String, f64> = Default::default();
    for (_, scrapes) in scrapes {
        let Some(latest) = scrapes.last() else {
            continue;
        };
        for sample in latest.exposition.select(CONSUMER_POSITION, &|_| true) {
            let consumer = sample.labels.get("consumer").unwrap_or_default().to_owned();
            let position = positions.entry(consumer).or_insert(sample.value);
            *position = position.max(sample.value);
        }
    }
    let consumers = positions
        .into_iter()
        .map(|(consumer, position)| ConsumerLag {
            consumer,
            position,
            head,
            lag: head.map(|head| (head - position).max(0.0)),
        })
        .collect();
    let mut faults = Vec::new();
    for (service, scrapes) in scrapes {
        let Some(latest) = scrapes.last().filter(|s| s.at >= now - WINDOW_SECS) else {
            continue;
        };
        for sample in latest.exposition.select(FAULTS_ACTIVE, &|_| true) {
            if sample.value > 0.0 {
                faults.push(InjectedFault {
                    service: (*service).to_owned(),
                    method: sample
                        .labels
                        .get("grpc_method")
                        .unwrap_or_default()
                        .to_owned(),
                    fault: sample.labels.get("fault").unwrap_or_default().to_owned(),
                    rate: sample.value,
                });
            }
        }
    }
    Vitals {
        services,
        orders_per_minute,
        consumers,
        faults,
        window_secs: WINDOW_SECS,
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chassis::scrape::Exposition;

    use super::super::digest::digest;
    use super::*;

    /// A scrape of a process at `at`, as a real recorder renders it, digested for
    /// `service`.
    fn scrape(service: &str, at: f64, text: &str) -> Scrape {
        Scrape {
            at,
            exposition: Arc::new(digest(service, &Exposition::parse(text))),
        }
    }

    fn cart_text(ok: u32, internal: u32, fast: u32, slow: u32) -> String {
        format!(
            "grpc_server_handled_total{{grpc_type=\"unary\",grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",grpc_code=\"OK\"}} {ok}\n\
             grpc_server_handled_total{{grpc_type=\"unary\",grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",grpc_code=\"Internal\"}} {internal}\n\
             grpc_server_handled_total{{grpc_type=\"unary\",grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",grpc_code=\"NotFound\"}} 0\n\
             grpc_server_handled_total{{grpc_type=\"unary\",grpc_service=\"grpc.health.v1.Health\",grpc_method=\"Check\",grpc_code=\"OK\"}} 1000\n\
             grpc_server_handling_seconds_bucket{{grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",le=\"0.01\"}} {fast}\n\
             grpc_server_handling_seconds_bucket{{grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",le=\"0.1\"}} {}\n\
             grpc_server_handling_seconds_bucket{{grpc_service=\"bazaar.cart.v1.CartService\",grpc_method=\"GetCart\",le=\"+Inf\"}} {}\n\
             bazaar_orders_total{{state=\"placed\"}} {ok}\n\
             bazaar_outbox_head 50\n\
             bazaar_consumer_position{{consumer=\"notification\"}} 45\n",
            fast + slow,
            fast + slow,
        )
    }

    #[test]
    fn a_services_figures_count_its_own_calls_only() {
        let target = Target {
            service: "cart",
            address: "127.0.0.1:1".to_owned(),
        };
        let scrapes = [
            scrape("cart", 100.0, &cart_text(0, 0, 0, 0)),
            scrape("cart", 110.0, &cart_text(90, 10, 50, 50)),
        ];
        let vitals = service(&target, MetricsState::Scraped, None, &scrapes, 110.0);
        // 100 calls of its own in 10 s; the health checks are not counted.
        assert_eq!(vitals.requests_per_second, Some(10.0));
        assert_eq!(vitals.error_ratio, Some(0.1));
        let p50 = vitals.p50_seconds.unwrap();
        assert!((p50 - 0.01).abs() < 1e-9, "{p50}");
        let p99 = vitals.p99_seconds.unwrap();
        assert!((p99 - 0.0982).abs() < 1e-9, "{p99}");
        assert_eq!(vitals.history.len(), 1);

        // Beyond the window, nothing is known.
        let later = service(&target, MetricsState::Scraped, None, &scrapes, 1000.0);
        assert_eq!(later.requests_per_second, None);
        assert_eq!(later.p99_seconds, None);
    }

    #[test]
    fn orders_and_lag_come_from_their_services() {
        let orders = vec![
            scrape("orders", 0.0, &cart_text(0, 0, 0, 0)),
            scrape("orders", 30.0, &cart_text(10, 0, 0, 0)),
        ];
        let notification = vec![scrape("notification", 30.0, &cart_text(0, 0, 0, 0))];
        let vitals = shop(
            Vec::new(),
            &[("orders", orders), ("notification", notification)],
            30.0,
        );
        assert_eq!(
            vitals.orders_per_minute,
            vec![OrdersByState {
                state: "placed".to_owned(),
                per_minute: 20.0
            }]
        );
        assert_eq!(vitals.consumers.len(), 1);
        assert_eq!(vitals.consumers[0].lag, Some(5.0));
    }

    #[test]
    fn faults_in_force_come_from_each_services_latest_scrape() {
        let text = "bazaar_chaos_faults_active{grpc_method=\"Charge\",fault=\"Unavailable\"} 0.2\n\
                    bazaar_chaos_faults_active{grpc_method=\"*\",fault=\"latency\"} 0\n";
        let payment = vec![scrape("payment", 30.0, text)];
        let vitals = shop(Vec::new(), &[("payment", payment.clone())], 30.0);
        assert_eq!(
            vitals.faults,
            vec![InjectedFault {
                service: "payment".to_owned(),
                method: "Charge".to_owned(),
                fault: "Unavailable".to_owned(),
                rate: 0.2,
            }]
        );
        // A scrape older than the window says nothing of now.
        let later = shop(
            Vec::new(),
            &[("payment", payment)],
            30.0 + 2.0 * WINDOW_SECS,
        );
        assert!(later.faults.is_empty());
    }
}
