//! The shop's status for programs, and for the status page's live refresh: every service,
//! its health and check latency ([`crate::shop::health`]).

use axum::Json;
use axum::extract::State;

use crate::app::AppState;
use crate::shop::health::{self, StatusReport};

/// GET /api/v1/status.
pub async fn report(State(app): State<AppState>) -> Json<StatusReport> {
    Json(health::report(&app).await)
}
