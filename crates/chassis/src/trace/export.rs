//! Export: where finished spans go, and what happens when they cannot go there.
//!
//! Spans are exported over OTLP/gRPC by the SDK's batch processor, which keeps finished spans
//! in a bounded queue and sends them from a thread of its own: ending a span never waits for
//! the collector. What the queue cannot hold is dropped, and the drop is counted in
//! `bazaar_trace_spans_dropped_total`. The SDK counts its drops privately, so the count is
//! kept here: [`Counted`] admits a span only while fewer than the queue's capacity are
//! waiting, and [`Counting`] (around the exporter) lets each one go as its batch is taken
//! for export. The processor's own queue is the same size, so it never has to drop one
//! itself.
//!
//! The settings are the standard variables of OpenTelemetry, read once by
//! [`Settings::from_env`]; nothing is exported unless they name a collector.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanExporter,
    SpanProcessor,
};

/// The metric that counts spans dropped because the export queue was full.
pub const SPANS_DROPPED: &str = "bazaar_trace_spans_dropped_total";

/// How many finished spans may wait for export when `OTEL_BSP_MAX_QUEUE_SIZE` does not say.
const DEFAULT_QUEUE: usize = 2048;

/// What tracing is to export, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The collector's OTLP/gRPC endpoint (`http://host:4317`).
    pub endpoint: String,
    /// `service.name` of every span of the process.
    pub service_name: String,
    /// How many finished spans may wait for export; more are dropped and counted.
    pub queue: usize,
}

/// Why the tracing settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable holds something that is not a valid value for it.
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it holds.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The OTLP exporter could not be built from the settings.
    #[error("cannot build the OTLP exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

impl Settings {
    /// Reads the standard variables through `var`: tracing is on when
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector,
    /// unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. `service.name` is
    /// `OTEL_SERVICE_NAME`, or else `service` (the table name). `Ok(None)`: tracing is off.
    pub fn from_vars(
        service: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, SettingsError> {
        let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        match set("OTEL_TRACES_EXPORTER").map(|value| value.trim().to_ascii_lowercase()) {
            None => {}
            Some(exporter) if exporter == "none" => return Ok(None),
            Some(exporter) if exporter == "otlp" => {}
            Some(exporter) => {
                return Err(SettingsError::Invalid {
                    name: "OTEL_TRACES_EXPORTER",
                    value: exporter,
                    expected: "otlp or none",
                });
            }
        }
        let Some(endpoint) = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
        else {
            return Ok(None);
        };
        if let Some(protocol) = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .filter(|protocol| protocol.trim() != "grpc")
        {
            return Err(SettingsError::Invalid {
                name: "OTEL_EXPORTER_OTLP_PROTOCOL",
                value: protocol,
                expected: "grpc (the only protocol bazaar exports with)",
            });
        }
        let queue = match set("OTEL_BSP_MAX_QUEUE_SIZE") {
            None => DEFAULT_QUEUE,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(queue) if queue > 0 => queue,
                _ => {
                    return Err(SettingsError::Invalid {
                        name: "OTEL_BSP_MAX_QUEUE_SIZE",
                        value,
                        expected: "a positive number of spans",
                    });
                }
            },
        };
        Ok(Some(Self {
            endpoint: endpoint.trim().to_owned(),
            service_name: set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned()),
            queue,
        }))
    }

    /// [`Settings::from_vars`] over the process's environment.
    pub fn from_env(service: &str) -> Result<Option<Self>, SettingsError> {
        Self::from_vars(service, |name| std::env::var(name).ok())
    }

    /// The tracer provider these settings describe: OTLP/gRPC export of batches from a
    /// bounded queue, the sampler of `OTEL_TRACES_SAMPLER`/`_ARG` (parent-based, always on,
    /// when unset: the SDK reads them). Must run inside a tokio runtime (the exporter's
    /// channel lives on it); nothing is connected until the first export.
    pub(crate) fn provider(&self) -> Result<SdkTracerProvider, SettingsError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(self.endpoint.clone())
            .build()?;
        let waiting = Arc::new(AtomicUsize::new(0));
        let batches = BatchSpanProcessor::builder(Counting {
            inner: exporter,
            waiting: waiting.clone(),
        })
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(self.queue)
                .build(),
        )
        .build();
        Ok(SdkTracerProvider::builder()
            .with_span_processor(Counted {
                inner: batches,
                waiting,
                capacity: self.queue,
            })
            .with_resource(
                Resource::builder()
                    .with_service_name(self.service_name.clone())
                    .build(),
            )
            .build())
    }
}

/// The batch processor, admitting a finished span only while its queue has room.
#[derive(Debug)]
struct Counted<P> {
    inner: P,
    /// Spans handed to `inner` and not yet taken for export.
    waiting: Arc<AtomicUsize>,
    capacity: usize,
}

impl<P: SpanProcessor> SpanProcessor for Counted<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < self.capacity).then_some(waiting + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            metrics::counter!(SPANS_DROPPED).increment(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter, making room in [`Counted`]'s count as each batch leaves the queue.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    waiting: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Taken off the queue: room for as many again, whatever the export's fate.
        let taken = batch.len();
        let _ = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                Some(waiting.saturating_sub(taken))
            });
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<Settings>, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Settings::from_vars("orders", |name| vars.get(name).cloned())
    }

    #[test]
    fn off_unless_a_collector_is_named() {
        assert_eq!(settings(&[]).unwrap(), None);
        assert_eq!(settings(&[("OTEL_SERVICE_NAME", "shop")]).unwrap(), None);
    }

    #[test]
    fn the_traces_endpoint_wins_and_the_table_name_is_the_default_service_name() {
        let on = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.endpoint, "http://traces:4317");
        assert_eq!(on.service_name, "orders");
        assert_eq!(on.queue, DEFAULT_QUEUE);
        let named = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
            ("OTEL_SERVICE_NAME", "orders-eu"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(named.endpoint, "http://general:4317");
        assert_eq!(named.service_name, "orders-eu");
        assert_eq!(named.queue, 16);
    }

    #[test]
    fn disabled_sdk_or_no_exporter_turns_it_off() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        assert_eq!(
            settings(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]).unwrap(),
            None
        );
        assert_eq!(
            settings(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]).unwrap(),
            None
        );
        assert!(
            settings(&[endpoint, ("OTEL_SDK_DISABLED", "false")])
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        for (vars, name) in [
            (
                vec![endpoint, ("OTEL_TRACES_EXPORTER", "zipkin")],
                "OTEL_TRACES_EXPORTER",
            ),
            (
                vec![endpoint, ("OTEL_BSP_MAX_QUEUE_SIZE", "0")],
                "OTEL_BSP_MAX_QUEUE_SIZE",
            ),
            (
                vec![endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
        ] {
            let error = settings(&vars).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
