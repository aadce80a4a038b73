//! The status page: every service of the shop, its address, its health and how long a
//! health check took ([`crate::shop::health`]); its vital signs over the last fifteen
//! minutes as small graphs (calls a second, error ratio, p50 and p99 latency, from the
//! scrapes of [`crate::vitals`]); orders a minute by state; each event consumer's lag; and
//! the dependency map coloured by health ([`super::dependency_map`]).
//!
//! The page is rendered complete on the server, graphs included, and kept live by a small
//! same-origin script (`/static/status.js`): the table from `/api/v1/status` every two
//! seconds, the graphs and the map by fetching this page again every five. It needs no
//! session and no service: a service that is down, or serves no metrics, says so in its
//! row, and before the first scrapes the graphs say they are waiting.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::charts::{self, Spark};
use super::dependency_map::{self, DependencyMap, Shade};
use super::{Chrome, render};
use crate::app::AppState;
use crate::shop::health::{self, Health, StatusReport};
use crate::vitals::{ServiceVitals, Vitals};

/// An error ratio from which a serving service shows as degraded.
pub const DEGRADED_ERROR_RATIO: f64 = 0.05;

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    /// A header without shopper (the page needs no session).
    pub chrome: Chrome,
    /// What the checks found.
    pub report: StatusReport,
    /// What the scrapes found, with the orders and consumers.
    pub vitals: Vitals,
    /// One row of graphs per service.
    pub rows: Vec<VitalsRow>,
    /// Who calls whom.
    pub map: DependencyMap,
    /// What the graphs span, as shown ("15 min", "42 s").
    pub span: String,
    /// Size of a box of the map.
    pub node_width: u32,
    /// Size of a box of the map.
    pub node_height: u32,
}

/// One service's vital signs as shown.
pub struct VitalsRow {
    /// The figures.
    pub service: ServiceVitals,
    /// Calls a second, over time.
    pub requests: Spark,
    /// Error ratio, over time.
    pub errors: Spark,
    /// p50 and p99, over time.
    pub latency: Spark,
}

impl VitalsRow {
    fn new(service: ServiceVitals, now: (f64, f64)) -> Self {
        let history = &service.history;
        let requests = charts::spark(
            history,
            now,
            |p| p.requests_per_second,
            None,
            1.0,
            charts::per_second,
        );
        let errors = charts::spark(
            history,
            now,
            |p| p.error_ratio,
            None,
            DEGRADED_ERROR_RATIO,
            charts::percent,
        );
        let latency = charts::spark(
            history,
            now,
            |p| p.p50_seconds,
            Some(&|p| p.p99_seconds),
            0.005,
            charts::millis,
        );
        Self {
            service,
            requests,
            errors,
            latency,
        }
    }

    /// Calls a second over the last minute.
    pub fn requests_text(&self) -> String {
        charts::or_dash(self.service.requests_per_second, charts::per_second)
    }

    /// Error ratio over the last minute.
    pub fn errors_text(&self) -> String {
        charts::or_dash(self.service.error_ratio, charts::percent)
    }

    /// p50 / p99 over the last minute.
    pub fn latency_text(&self) -> String {
        format!(
            "{} / {}",
            charts::or_dash(self.service.p50_seconds, charts::millis),
            charts::or_dash(self.service.p99_seconds, charts::millis)
        )
    }

    /// What the scrapes found, as a class of the style sheet.
    pub fn metrics_class(&self) -> &'static str {
        match self.service.metrics {
            crate::vitals::MetricsState::Scraped => "scraped",
            crate::vitals::MetricsState::Waiting => "waiting",
            crate::vitals::MetricsState::Empty | crate::vitals::MetricsState::Unreachable => {
                "missing"
            }
        }
    }
}

/// How a service shows on the map: its health check first, then its error ratio.
fn shade(report: &StatusReport, vitals: &Vitals, name: &str) -> (Shade, String) {
    if name == crate::NAME {
        return (Shade::Up, "serving this page".to_owned());
    }
    let Some(status) = report.services.iter().find(|s| s.name == name) else {
        return (Shade::Down, "not configured".to_owned());
    };
    let errors = vitals
        .services
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.error_ratio);
    match status.state {
        Health::Down => (Shade::Down, "DOWN".to_owned()),
        Health::NotServing => (Shade::Degraded, "NOT_SERVING".to_owned()),
        Health::Serving => match errors {
            Some(ratio) if ratio >= DEGRADED_ERROR_RATIO => (
                Shade::Degraded,
                format!("SERVING, {} of calls failing", charts::percent(ratio)),
            ),
            _ => (Shade::Up, "SERVING".to_owned()),
        },
    }
}

/// GET /status.
pub async fn page(State(app): State<AppState>) -> Response {
    let report = health::report(&app).await;
    let vitals = app.vitals.vitals();
    let map = dependency_map::draw(|name| shade(&report, &vitals, name));
    let span = charts::span(
        vitals.services.iter().map(|s| s.history.as_slice()),
        vitals.at,
    );
    let rows = vitals
        .services
        .iter()
        .cloned()
        .map(|service| VitalsRow::new(service, (vitals.at, span)))
        .collect();
    render(
        StatusCode::OK,
        &StatusPage {
            chrome: Chrome::bare("Status"),
            report,
            vitals,
            rows,
            map,
            span: if span >= 120.0 {
                format!("{:.0} min", span / 60.0)
            } else {
                format!("{span:.0} s")
            },
            node_width: dependency_map::NODE_WIDTH,
            node_height: dependency_map::NODE_HEIGHT,
        },
    )
}
