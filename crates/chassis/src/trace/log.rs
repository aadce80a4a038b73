//! Log lines tied to traces: every event logged inside a traced span carries the `trace_id`
//! and `span_id` of that span, in both log formats, so a log line leads to its trace and a
//! trace to its log lines.
//!
//! [`WithTraceIds`] wraps the format `tracing-subscriber` already has. A text line gets
//! ` trace_id=… span_id=…` at its end; a JSON line gets `"trace_id"` and `"span_id"` as its
//! first keys. It is installed only when traces are exported; without them a line is
//! formatted exactly as before, at no cost.
//!
//! The ids live with the OpenTelemetry layer, which answers only through the dispatcher it
//! is part of. Inside a formatter the "current dispatcher" is not reachable (tracing hides
//! it from its own callbacks, against re-entrance), so the formatter is handed its
//! dispatcher once it exists ([`Dispatcher`]), as a weak reference.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt;
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
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

/// The dispatcher a [`WithTraceIds`] is part of, given to it once it is built.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dispatcher(Arc<OnceLock<WeakDispatch>>);

impl Dispatcher {
    /// Tells the formatters made with this handle which dispatcher they are part of.
    pub(crate) fn set(&self, dispatch: &Dispatch) {
        let _ = self.0.set(dispatch.downgrade());
    }
}

/// An event format that adds the current span's trace and span ids to what `inner` writes.
#[derive(Debug)]
pub(crate) struct WithTraceIds<F> {
    inner: F,
    shape: Shape,
    dispatcher: Dispatcher,
}

impl<F> WithTraceIds<F> {
    pub(crate) fn new(inner: F, shape: Shape, dispatcher: Dispatcher) -> Self {
        Self {
            inner,
            shape,
            dispatcher,
        }
    }

    /// The trace and span id (lowercase hex, as W3C writes them) of the current span: the
    /// registry's, not the log layer's, since the log filter may hide the span that carries
    /// the trace.
    fn current_ids<S, N>(&self, ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let current = ctx.current_span();
        let id = current.id()?;
        let dispatch = self.dispatcher.0.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = context.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| {
            (
                span_context.trace_id().to_string(),
                span_context.span_id().to_string(),
            )
        })
    }
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
        let Some((trace_id, span_id)) = self.current_ids(ctx) else {
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::Layer;
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::layer::SubscriberExt;

    use super::{Dispatcher, Shape, WithTraceIds};

    /// What the log layer of `shape` writes for one event outside any span and one inside a
    /// traced span, with that span's trace and span ids.
    fn logged(shape: Shape) -> (Vec<String>, String, String) {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buffer.clone();
        let dispatcher = Dispatcher::default();
        let logs = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()));
        let logs = match shape {
            Shape::Text => logs
                .event_format(WithTraceIds::new(
                    tracing_subscriber::fmt::format(),
                    Shape::Text,
                    dispatcher.clone(),
                ))
                .boxed(),
            Shape::Json => logs
                .fmt_fields(JsonFields::new())
                .event_format(WithTraceIds::new(
                    tracing_subscriber::fmt::format().json().flatten_event(true),
                    Shape::Json,
                    dispatcher.clone(),
                ))
                .boxed(),
        };
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(logs)
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let dispatch = tracing::Dispatch::new(subscriber);
        dispatcher.set(&dispatch);
        let (trace_id, span_id) = tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("outside");
            let span = tracing::info_span!("work", order_id = "o-1");
            let _entered = span.enter();
            tracing::info!(answer = 42, "inside");
            let context = span.context();
            let span_context = opentelemetry::trace::TraceContextExt::span(&context)
                .span_context()
                .clone();
            (
                span_context.trace_id().to_string(),
                span_context.span_id().to_string(),
            )
        });
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        (text.lines().map(str::to_owned).collect(), trace_id, span_id)
    }

    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_text_line_in_a_traced_span_ends_with_its_ids() {
        let (lines, trace_id, span_id) = logged(Shape::Text);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].ends_with("outside"), "{}", lines[0]);
        assert!(!lines[0].contains("trace_id"), "{}", lines[0]);
        assert!(
            lines[1].contains("work{order_id=\"o-1\"}: ") && lines[1].contains("inside answer=42"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with(&format!(" trace_id={trace_id} span_id={span_id}")),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn a_json_line_in_a_traced_span_carries_its_ids_as_keys() {
        let (lines, trace_id, span_id) = logged(Shape::Json);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let outside: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(outside["message"], "outside");
        assert!(outside.get("trace_id").is_none(), "{outside}");
        let inside: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(inside["message"], "inside");
        assert_eq!(inside["answer"], 42);
        assert_eq!(inside["span"]["order_id"], "o-1");
        assert_eq!(inside["trace_id"], trace_id.as_str());
        assert_eq!(inside["span_id"], span_id.as_str());
        assert_eq!(trace_id.len(), 32);
        assert_eq!(span_id.len(), 16);
    }
}
