//! The shop's status for programs, and for the status page's live refresh: every service,
//! its health and check latency ([`crate::shop::health`]), and under `metrics` its vital
//! signs over the last minute, the orders a minute by state and each event consumer's lag
//! ([`crate::vitals`]).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::app::AppState;
use crate::shop::health::{self, StatusReport};
use crate::vitals::Vitals;

/// What GET /api/v1/status answers: the health report, and the vital signs beside it.
#[derive(Clone, Debug, Serialize)]
pub struct StatusAnswer {
    /// Health, as before.
    #[serde(flatten)]
    pub report: StatusReport,
    /// What the scrapes of every service's metrics say.
    pub metrics: Vitals,
}

/// GET /api/v1/status.
pub async fn report(State(app): State<AppState>) -> Json<StatusAnswer> {
    Json(StatusAnswer {
        report: health::report(&app).await,
        metrics: app.vitals.vitals(),
    })
}
