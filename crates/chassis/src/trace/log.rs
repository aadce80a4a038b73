//! Log lines tied to traces: every event logged inside a traced span carries the `trace_id`
//! and `span_id` of that span, in both log formats, so a log line leads to its trace and a
//! trace to its log lines.
//!
//! [`WithTraceIds`] wraps the format `tracing-subscriber` already has. A text line gets
//! ` trace_id=… span_id=…` at its end; a JSON line gets `"trace_id"` and `"span_id"` as its
//! first keys. It is installed only when traces are exported; without them a line is
//! formatted exactly as before, at no cost.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Which of the two log formats a [`WithTraceIds`] wraps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// Readable text: the ids go at the end of the line.
    Text,
    /// One JSON object per line: the ids go in as its first keys.
    Json,
}

/// An event format that adds the current span's trace and span ids to what `inner` writes.
#[derive(Debug)]
pub(crate) struct WithTraceIds<F> {
    inner: F,
    shape: Shape,
}

impl<F> WithTraceIds<F> {
    pub(crate) fn new(inner: F, shape: Shape) -> Self {
        Self { inner, shape }
    }
}

/// The trace and span id (lowercase hex, as W3C writes them) of the span the event is in.
/// The span is the dispatcher's current one, not the log layer's: the log filter may hide
/// the span that carries the trace.
fn current_ids() -> Option<(String, String)> {
    let context = tracing::dispatcher::get_default(|dispatch| {
        let current = dispatch.current_span();
        current
            .id()
            .and_then(|id| tracing_opentelemetry::get_otel_context(id, dispatch))
    })?;
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = current_ids() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match self.shape {
            Shape::Json => match line.strip_prefix('{') {
                Some(rest) => write!(
                    writer,
                    "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
                ),
                None => writer.write_str(&line),
            },
            Shape::Text => {
                let body = line.strip_suffix('\n').unwrap_or(&line);
                writeln!(writer, "{body} trace_id={trace_id} span_id={span_id}")
            }
        }
    }
}
