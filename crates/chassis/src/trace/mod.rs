//! Distributed tracing: one trace per request across every service it touches.
//!
//! Spans are `tracing` spans; when the standard OpenTelemetry variables name a collector
//! ([`Settings::from_env`]), [`crate::telemetry`] adds the OpenTelemetry layer that turns
//! them into OpenTelemetry spans and exports them ([`export`]). The chassis then opens, on
//! the path every call already takes:
//!
//! - a server span around every inbound gRPC call ([`ServerTraceLayer`]), continuing the
//!   caller's trace from its W3C `traceparent`/`tracestate` metadata;
//! - a client span around every outbound call of an [`crate::client::Upstream`]
//!   ([`ClientTraceLayer`]), a child of whatever span the caller is in, whose context goes
//!   out in the call's `traceparent`;
//! - and, for the storefront, a server span per HTTP request ([`http_server_span`]).
//!
//! Spans follow the OpenTelemetry RPC conventions (`rpc.system`, `rpc.service`,
//! `rpc.method`, `rpc.grpc.status_code`, span kind) and carry `bazaar.service`, the table
//! name of the service that made them, so the services of one process (the test shop) stay
//! apart. Work that outlives its request (a saga resumed after a restart, an event handled
//! by a consumer) keeps the trace as a W3C `traceparent` string ([`traceparent`],
//! [`follow_traceparent`], [`link_traceparent`]).
//!
//! With tracing off (the default) none of these layers is in any stack and no span is
//! made: it costs nothing. Tracing never fails or slows a call: a collector that is down
//! only fills the bounded export queue, and what does not fit is dropped and counted.

pub mod export;
mod finish;
mod grpc;
mod http_server;
pub(crate) mod log;

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use export::{SPANS_DROPPED, Settings, SettingsError};
pub use grpc::{ClientTraceLayer, ServerTraceLayer};
pub use http_server::{finished, http_server_span, traceresponse};

/// Whether spans are being exported (set once, by [`crate::telemetry`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces. Stacks decide once, when they are built, whether
/// to trace at all.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(crate) fn set_enabled() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// The trace context a caller sent in `headers` (W3C `traceparent`/`tracestate`); an empty
/// context when it sent none or something invalid, so that a new trace starts.
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// Writes the context of `span` into `headers` as W3C `traceparent`/`tracestate`.
pub fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeadersMut(headers));
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`), to keep with work
/// that outlives the request; `None` when tracing is off or the span is not traced.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if !enabled() {
        return None;
    }
    let mut headers = HeaderMap::new();
    inject(span, &mut headers);
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The span context a stored `traceparent` names, when it is valid.
pub fn span_context(traceparent: &str) -> Option<SpanContext> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(traceparent).ok()?;
    headers.insert("traceparent", value);
    let context = extract(&headers);
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.clone())
}

/// Makes `span` (not yet entered) a child of the span a stored `traceparent` names, so work
/// resumed later stays in the request's trace. An invalid or absent value leaves it alone.
pub fn follow_traceparent(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(parent) = traceparent.and_then(span_context) {
        let _ = span.set_parent(Context::new().with_remote_span_context(parent));
    }
}

/// Links `span` to the span a stored `traceparent` names (work caused by, but not part of,
/// that request: an event handled by a consumer). An invalid or absent value is ignored.
pub fn link_traceparent(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(linked) = traceparent.and_then(span_context) {
        span.add_link(linked);
    }
}

/// Request or response headers, read as a propagator's carrier.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Request headers, written as a propagator's carrier.
struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The span of a consumer's handling of one event of `stream` (by service `service`, its
/// table name): a trace of its own, linked to the trace of the work that wrote the event
/// (its `traceparent`, empty when that was not traced). A disabled span when traces are
/// not exported.
pub fn event_span(service: &'static str, stream: &str, traceparent: &str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        parent: None,
        "event",
        otel.name = %format_args!("{stream} process"),
        otel.kind = "consumer",
    );
    span.set_attribute("bazaar.service", service);
    span.set_attribute("messaging.operation.type", "process");
    link_traceparent(&span, Some(traceparent).filter(|value| !value.is_empty()));
    span
}
