//! The status page: every service of the shop, its address, its health and how long a
//! health check took ([`crate::shop::health`]). The page is rendered complete on the server
//! and refreshed in place every two seconds by a small script (`/static/status.js`) reading
//! `/api/v1/status`. It needs no session and no service.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Chrome, render};
use crate::app::AppState;
use crate::shop::health::{self, StatusReport};

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    /// A header without shopper (the page needs no session).
    pub chrome: Chrome,
    /// What the checks found.
    pub report: StatusReport,
}

/// GET /status.
pub async fn page(State(app): State<AppState>) -> Response {
    let report = health::report(&app).await;
    render(
        StatusCode::OK,
        &StatusPage {
            chrome: Chrome::bare("Status"),
            report,
        },
    )
}
