//! The span of one HTTP request to the storefront, and the `traceresponse` that tells the
//! browser (or whoever called) which trace it was.

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use opentelemetry::trace::Status as SpanStatus;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A span of kind server for one HTTP request to service `service` (its table name), named
/// `<method> <route>` (the route template, never the raw path), continuing the trace of the request's `traceparent` (a
/// new trace without one). Run the request's work in it; its gRPC calls become its
/// children. End it with [`finished`].
pub fn http_server_span(
    service: &'static str,
    method: &Method,
    route: &str,
    headers: &HeaderMap,
) -> tracing::Span {
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
    );
    let _ = span.set_parent(super::extract(headers));
    span.set_attribute("http.request.method", method.as_str().to_owned());
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("bazaar.service", service);
    span
}

/// Records the response's status on the span of [`http_server_span`]: a server error (5xx)
/// marks it failed.
pub fn finished(span: &tracing::Span, status: StatusCode) {
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(SpanStatus::error(status.as_str().to_owned()));
    }
}

/// The W3C `traceresponse` header for a response made in `span`:
/// `00-<trace id>-<span id>-<flags>`, the trace the request belongs to and the span that
/// served it. `None` when the request is not traced.
pub fn traceresponse(span: &tracing::Span) -> Option<HeaderValue> {
    super::traceparent(span).and_then(|value| HeaderValue::from_str(&value).ok())
}
