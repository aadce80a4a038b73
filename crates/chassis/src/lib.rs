//! The chassis: everything a bazaar service needs at run time that is not its own business.
//!
//! A service crate owns its domain and its store; the chassis owns the rest, written once:
//!
//! - [`admin`]: the admin listener every process serves on a port of its own: `/metrics`,
//!   `/healthz`, `/readyz`, and for gRPC services `grpc.health.v1` in plaintext, for probes;
//! - [`metrics`]: the process's Prometheus recorder, behind the `metrics` facade every crate
//!   records through;
//! - [`scrape`]: reading other processes' `/metrics`: the text format parsed, fetched over
//!   HTTP, and the arithmetic of rates, ratios and quantiles over scrapes in time;
//! - [`auth`]: who is calling: access tokens verified offline with identity's cached keys;
//! - [`chaos`]: faults on demand: errors and latency injected into a service's own calls,
//!   off unless the process is given a fault file, changed while it runs;
//! - [`backoff`]: the one exponential backoff of every retry loop, on a clock tests control;
//! - [`config`]: the flags and `BAZAAR_*` variables every service shares, with defaults that
//!   run on a laptop;
//! - [`telemetry`]: tracing set up in one place, readable text or JSON lines;
//! - [`trace`]: distributed traces over OpenTelemetry, off unless a collector is named:
//!   a span per inbound and outbound call, W3C trace context on every hop;
//! - [`shutdown`]: one small type that says "stop now", fed by SIGINT/SIGTERM or by a test;
//! - [`service`]: the life of a service process, written once: a service implements
//!   [`service::Service`] and every binary, `bazaar up` and the test shop run it the same way;
//! - [`topology`]: the one table of the shop's services: names, ports, roles, who calls whom;
//! - [`server`]: binds (port 0 works), serves gRPC with health and reflection, limits what one
//!   connection and the whole process take on, and drains gracefully by a hard deadline;
//! - [`limit`]: the adaptive concurrency limit: what can be served in time is admitted, the
//!   rest refused at once with `RESOURCE_EXHAUSTED` and a pushback hint;
//! - [`priority`]: continuations of accepted work (sagas, event consumers) before new work,
//!   carried in a task-local scope and the `bazaar-priority` metadata;
//! - [`deadline`]: the inbound call's deadline, enforced with `DEADLINE_EXCEEDED` and carried
//!   to every outbound call;
//! - [`client`]: outbound channels that connect lazily, balance across every address and
//!   eject a replica that keeps failing;
//! - [`discovery`]: where an upstream's replicas are (fixed addresses, DNS names looked up
//!   again, or the registry file of `bazaar up`), kept current while the process runs;
//! - [`retry`]: retrying, within a budget and the caller's deadline, the calls that are safe
//!   to repeat;
//! - [`follow`]: following another service's event stream from a stored position, each item
//!   once, reconnecting with backoff;
//! - [`clock`]: the wall-clock time a service reads, held still by tests;
//! - [`store`]: SQL pools for SQLite or PostgreSQL behind one URL, embedded migrations, and
//!   patient connection while a database server is still starting;
//! - [`tls`]: mutual TLS on both ends of every call: the server's certificate and the
//!   caller's, verified with the shop's CA, or the loudly logged `--plaintext`;
//! - [`pki`]: the shop's local CA and the certificates it issues to services and operators;
//! - [`files`]: data folders and files created private to the service's user (0700/0600);
//! - [`error`]: the few constructors that turn a domain error into a rich `tonic::Status`,
//!   and the contract's value errors into field violations;
//! - [`page`]: opaque, tamper-evident page tokens;
//! - `testing` (feature `testing`, for tests only): the harness that starts a service in a
//!   test and waits until it serves, and the helpers every service's tests share (among
//!   them `testing::metrics`: a scrape of an admin listener, read as Prometheus reads it).
//!
//! The chassis never knows what a product or an order is.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod auth;
pub mod backoff;
pub mod chaos;
pub mod client;
pub mod clock;
pub mod config;
pub mod deadline;
pub mod discovery;
pub mod error;
pub mod files;
pub mod follow;
pub mod forwarded;
pub mod limit;
pub mod metrics;
pub mod page;
pub mod pki;
pub mod priority;
pub mod retry;
mod rpc;
pub mod scrape;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod tls;
pub mod topology;
pub mod trace;

pub use config::ServerArgs;
pub use server::{Readiness, Server};
pub use service::{Bound, Service};
pub use shutdown::Shutdown;
