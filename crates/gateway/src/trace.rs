//! The trace of a request: each HTTP request runs in a server span that starts a trace, or
//! continues the caller's from its W3C `traceparent`, and every call to the services made
//! for it is a child of that span (the chassis's upstream channels carry the context on).
//! The response says which trace it was in a W3C `traceresponse` header
//! (`00-<trace id>-<span id>-<flags>`), so a slow page leads straight to its trace.
//!
//! Only when the process exports traces (see `chassis::trace`); otherwise the request
//! passes untouched.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response header that names the request's trace.
pub const TRACERESPONSE: &str = "traceresponse";

/// Runs the request in its server span, named by its route template (`/product/{id}`, or
/// `unmatched`), and answers with its `traceresponse`.
pub async fn trace_request(request: Request, next: Next) -> Response {
    if !chassis::trace::enabled() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = chassis::trace::http_server_span(
        chassis::topology::GATEWAY.name,
        request.method(),
        &route,
        request.headers(),
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    chassis::trace::finished(&span, response.status());
    if let Some(value) = chassis::trace::traceresponse(&span) {
        response.headers_mut().insert(TRACERESPONSE, value);
    }
    response
}
