//! Tracing, set up once per process: logs, and the traces of [`crate::trace`].
//!
//! Logs go to stderr, as readable text by default or as JSON lines with `--log-format json`.
//! The filter comes from `--log`/`BAZAAR_LOG`; `RUST_LOG`, when set, wins, as Rust users expect.
//!
//! Traces are exported only when the standard OpenTelemetry variables name a collector
//! ([`crate::trace::Settings::from_env`]). Then a second layer turns spans at level info and
//! above into OpenTelemetry spans, whatever the log filter says, and every log line made in a
//! traced span carries its `trace_id` and `span_id`. Without a collector neither layer
//! exists. [`finish`] sends what is still queued when the process stops, by a deadline.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, ServerArgs};
use crate::trace::log::{Dispatcher, Shape, WithTraceIds};
use crate::trace::{Settings, SettingsError};

/// How long [`finish`] waits for the last spans to reach the collector.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// The tracer provider of the process, once traces are exported.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber of service `service` (its table name, the default
/// `service.name` of its traces). A second call (several services in one test process)
/// leaves the first one in place. Tracing settings that cannot be used are logged as an
/// error and the process runs without traces.
pub fn init(service: &str, args: &ServerArgs) {
    let tracing = Settings::from_env(service);
    let settings = tracing.as_ref().ok().and_then(Option::as_ref);
    let installed = install_to(
        args.log_format,
        &args.log_filter,
        settings,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    match (tracing, installed) {
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(error = %crate::error::chain(&error), "traces are not exported");
        }
        (Ok(Some(settings)), Ok(true)) => tracing::info!(
            endpoint = settings.endpoint,
            service_name = settings.service_name,
            queue = settings.queue,
            "exporting traces over OTLP/gRPC"
        ),
        _ => {}
    }
}

/// Installs the global subscriber with an explicit format and filter, without traces.
pub fn init_with(format: LogFormat, filter: &str) {
    let _ = install_to(
        format,
        filter,
        None,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
}

/// Installs the global subscriber with an explicit format and filter, logging to `writer`
/// (without colours), and exporting traces as `tracing` says. Must run inside a tokio
/// runtime when traces are exported. `Ok(true)`: traces are exported; `Ok(false)`: they are
/// not, or a subscriber was already installed (it stays).
pub fn install<W>(
    format: LogFormat,
    filter: &str,
    tracing: Option<&Settings>,
    writer: W,
) -> Result<bool, SettingsError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    install_to(format, filter, tracing, writer, false)
}

fn install_to<W>(
    format: LogFormat,
    filter: &str,
    tracing: Option<&Settings>,
    writer: W,
    ansi: bool,
) -> Result<bool, SettingsError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|env| EnvFilter::try_new(env).ok())
        .or_else(|| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let provider = tracing.map(Settings::provider).transpose()?;
    let traced = provider.is_some();
    let dispatcher = Dispatcher::default();

    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer);
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match (format, traced) {
        (LogFormat::Text, false) => logs.with_filter(filter).boxed(),
        (LogFormat::Text, true) => logs
            .event_format(WithTraceIds::new(
                tracing_subscriber::fmt::format(),
                Shape::Text,
                dispatcher.clone(),
            ))
            .with_filter(filter)
            .boxed(),
        (LogFormat::Json, false) => logs.json().flatten_event(true).with_filter(filter).boxed(),
        (LogFormat::Json, true) => logs
            .fmt_fields(JsonFields::new())
            .event_format(WithTraceIds::new(
                tracing_subscriber::fmt::format().json().flatten_event(true),
                Shape::Json,
                dispatcher.clone(),
            ))
            .with_filter(filter)
            .boxed(),
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("bazaar"))
            .with_filter(LevelFilter::INFO)
    });
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(logs).with(spans));
    dispatcher.set(&dispatch);
    // An error here means a subscriber is already installed, which is what we want.
    if dispatch.try_init().is_err() {
        if let Some(provider) = provider {
            let _ = provider.shutdown_with_timeout(Duration::ZERO);
        }
        return Ok(false);
    }
    if let Some(provider) = provider {
        let _ = PROVIDER.set(provider);
        crate::trace::set_enabled();
    }
    Ok(traced)
}

/// Exports every finished span still queued, waiting for the collector at most
/// [`FLUSH_TIMEOUT`]; `false` when that failed or traces are not exported. It blocks: call
/// it from a blocking thread (`spawn_blocking`).
pub fn flush() -> bool {
    PROVIDER
        .get()
        .is_some_and(|provider| provider.force_flush().is_ok())
}

/// Stops exporting traces when the process stops: what is still queued is sent, waiting at
/// most `timeout` for the collector. It blocks: call it from a blocking thread.
pub fn finish(timeout: Duration) {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.shutdown_with_timeout(timeout)
    {
        tracing::warn!(%error, "the last traces may not have reached the collector");
    }
}
