//! Tracing, set up once per process.
//!
//! Logs go to stderr, as readable text by default or as JSON lines with `--log-format json`.
//! The filter comes from `--log`/`BAZAAR_LOG`; `RUST_LOG`, when set, wins, as Rust users expect.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, ServerArgs};

/// Installs the global subscriber. A second call (several services in one test process)
/// leaves the first one in place.
pub fn init(args: &ServerArgs) {
    init_with(args.log_format, &args.log_filter);
}

/// Installs the global subscriber with an explicit format and filter.
pub fn init_with(format: LogFormat, filter: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|env| EnvFilter::try_new(env).ok())
        .or_else(|| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // An error here means a subscriber is already installed, which is what we want.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
