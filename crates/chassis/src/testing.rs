//! The one harness every service's black-box tests start from (feature `testing`).
//!
//! A test starts the real service the way its binary does, through the same
//! [`Bound::bind_with`] and [`Bound::run`] that every process goes through, on the address
//! its configuration names (port 0 with [`crate::ServerArgs::for_tests`]):
//!
//! - [`spawn`] binds, runs, and waits until the service answers `SERVING` on
//!   `grpc.health.v1`, that is until its [`Service::open`] succeeded; [`start`] does not wait,
//!   for tests of a service that cannot open yet;
//! - the [`Spawned`] handle has its address, a connected [`Channel`] and [`Spawned::stop`],
//!   which stops it as SIGTERM would and awaits the end of its run, reporting its error;
//! - services run over real TLS, with the test PKI made once per process
//!   ([`crate::pki::for_tests`], which [`crate::ServerArgs::for_tests`] points at): the
//!   handle's channel verifies the server with the CA and presents no certificate, as a
//!   caller from outside; [`client_tls`] presents a service's or the operator's certificate,
//!   [`Spawned::connect_with`] uses it. A test asks for plaintext with
//!   `args.plaintext = true`;
//! - [`field_violations`], [`violated_fields`] and [`assert_invalid_argument`] read the
//!   `google.rpc.BadRequest` detail every validation error carries, and [`assert_reason`]
//!   the `ErrorInfo` of a refusal a client can act on;
//! - [`eventually`] waits for a condition that becomes true in the background (a saga that
//!   settles, a follower that catches up), polling on tokio's clock.
//!
//! It also gathers what the chassis offers tests elsewhere: [`TestIssuer`] signs tokens a
//! service trusts (given to it as a verifier through [`Overrides`]), and [`TempPostgres`]
//! gives a test a database of its own ([`on_postgres`] runs a scenario on one). None of this
//! is compiled into a service: only test code enables the feature (a service's
//! `[dev-dependencies]`, and the test-only `bazaar-testkit` and `bazaar-doubles`). Helpers
//! here panic on failure, with a message that says what did not happen: in a test that is
//! the report.

pub mod metrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

pub use crate::auth::testing::TestIssuer;
pub use crate::service::Overrides;
use crate::service::{Bound, Service, StartError};
use crate::shutdown::Shutdown;
pub use crate::store::testing::{POSTGRES_URL_VAR, TempPostgres, skipped};
use crate::tls::Tls;

/// How long a service may take to answer `SERVING` after it starts.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// How often [`eventually`] and [`wait_until_serving`] look again.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// A service running inside the test, on its own tokio task.
pub struct Spawned<S: Service> {
    addr: SocketAddr,
    tls: Tls,
    caller: Tls,
    channel: Channel,
    service: Arc<S>,
    shutdown: Shutdown,
    run: JoinHandle<Result<(), StartError>>,
}

impl<S: Service> std::fmt::Debug for Spawned<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned")
            .field("service", &S::SPEC.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts `S` with `config` and `overrides` and waits until it answers `SERVING`.
///
/// # Panics
///
/// When it cannot be built or bound, or is not `SERVING` within [`READY_WITHIN`].
pub async fn spawn<S: Service>(config: &S::Config, overrides: &Overrides) -> Spawned<S> {
    let spawned = match start::<S>(config, overrides).await {
        Ok(spawned) => spawned,
        Err(error) => panic!(
            "{} does not start: {}",
            S::SPEC.name,
            crate::error::chain(&error)
        ),
    };
    spawned.wait_until_serving().await;
    spawned
}

/// Starts `S` with `config` and `overrides`, without waiting for it to be ready: it may
/// still be opening its store (and answering `NOT_SERVING`) when this returns.
pub async fn start<S: Service>(
    config: &S::Config,
    overrides: &Overrides,
) -> Result<Spawned<S>, StartError> {
    let bound = Bound::<S>::bind_with(config, overrides).await?;
    let addr = bound.local_addr();
    let tls = bound.tls().anonymous();
    let caller = as_trusted_caller(S::SPEC.name, &tls);
    let service = bound.service().clone();
    let shutdown = Shutdown::new();
    let run = tokio::spawn(bound.run(shutdown.clone()));
    Ok(Spawned {
        addr,
        channel: connect(addr, &caller),
        caller,
        tls,
        service,
        shutdown,
        run,
    })
}

/// How tests reach service `name` by default: over TLS, with the certificate of the caller
/// its access rules expect for its service-only RPCs
/// (`bazaar_contract::access::trusted_caller`), else the operator's; `tls` as it is when
/// it is plaintext.
pub fn as_trusted_caller(name: &str, tls: &Tls) -> Tls {
    if tls.is_plaintext() {
        return tls.clone();
    }
    client_tls(Some(
        bazaar_contract::access::trusted_caller(name).unwrap_or(crate::pki::OPERATOR),
    ))
}

/// A channel to `addr` over `tls` that connects on its first call (and again after the
/// server went away), so that it can be made before the server accepts.
///
/// # Panics
///
/// Never for a socket address: it always makes a valid URI.
pub fn connect(addr: SocketAddr, tls: &Tls) -> Channel {
    tls.endpoint(&addr.to_string())
        .expect("a socket address makes a valid endpoint")
        .connect_lazy()
}

/// The test PKI's TLS as a client: verifies servers with its CA and presents the
/// certificate of `identity` (a service of the table, or [`crate::pki::OPERATOR`]), or
/// none.
///
/// # Panics
///
/// When the test PKI cannot be read.
pub fn client_tls(identity: Option<&str>) -> Tls {
    let pki = crate::pki::for_tests();
    let identity = identity.map(|name| (pki.cert(name), pki.key(name)));
    Tls::client(
        &pki.ca_cert(),
        identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
    )
    .unwrap_or_else(|error| panic!("the test PKI is not readable: {error}"))
}

impl<S: Service> Spawned<S> {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A channel to it, shared by every clone, with the certificate of the caller its access
    /// rules expect ([`as_trusted_caller`]); [`Spawned::connect`] opens another, and
    /// `connect_with(spawned.tls())` one from a caller from outside (no certificate).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A channel of its own, on a new connection.
    pub fn connect(&self) -> Channel {
        connect(self.addr, &self.caller)
    }

    /// A channel of its own over `tls` (from [`client_tls`], say).
    pub fn connect_with(&self, tls: &Tls) -> Channel {
        connect(self.addr, tls)
    }

    /// How its channel reaches it: TLS with the CA and no client certificate, or plaintext.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// The service itself, for tests that look inside.
    pub fn service(&self) -> &Arc<S> {
        &self.service
    }

    /// What its health service answers for `service` (the empty name: the whole server).
    ///
    /// # Panics
    ///
    /// When health does not answer.
    pub async fn health(&self, service: &str) -> ServingStatus {
        health(&self.channel, service)
            .await
            .unwrap_or_else(|status| panic!("{} health does not answer: {status:?}", S::SPEC.name))
    }

    /// Waits until it answers `SERVING`.
    ///
    /// # Panics
    ///
    /// When it does not within [`READY_WITHIN`].
    pub async fn wait_until_serving(&self) {
        wait_until_serving(S::SPEC.name, self.channel.clone(), READY_WITHIN).await;
    }

    /// Stops it as SIGTERM would (drain, then close its store) and waits until it has
    /// stopped; its run's error, if it failed.
    ///
    /// # Panics
    ///
    /// When its run panicked: the panic goes on in the test.
    pub async fn stop(self) -> Result<(), StartError> {
        self.shutdown.trigger();
        match self.run.await {
            Ok(result) => result,
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("{} run was cancelled: {error}", S::SPEC.name),
            },
        }
    }
}

/// What the health service behind `channel` answers for `service` ("" for the server).
pub async fn health(channel: &Channel, service: &str) -> Result<ServingStatus, Status> {
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(answer.into_inner().status())
}

/// Polls the health of the server behind `channel` (named `name` in the failure) until it
/// answers `SERVING`.
///
/// # Panics
///
/// When it does not within `within`, with what it answered last.
pub async fn wait_until_serving(name: &str, channel: Channel, within: Duration) {
    let mut last = None;
    let serving = eventually(within, async || {
        let status = health(&channel, "").await;
        let serving = matches!(status, Ok(ServingStatus::Serving));
        last = Some(status);
        serving
    })
    .await;
    assert!(serving, "{name} is not SERVING after {within:?}: {last:?}");
}

/// Calls `condition` until it is true, every few milliseconds of tokio's clock, for at most
/// `within`; whether it became true. The test says what it waited for:
/// `assert!(eventually(..).await, "the order never settled")`.
#[must_use = "assert that the condition became true"]
pub async fn eventually(within: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The `(field, description)` pairs of the `google.rpc.BadRequest` detail of `status`, in
/// order (none without that detail).
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|violation| (violation.field, violation.description))
                .collect()
        })
        .unwrap_or_default()
}

/// Only the field paths of [`field_violations`].
pub fn violated_fields(status: &Status) -> Vec<String> {
    field_violations(status)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

/// Asserts that `status` is `INVALID_ARGUMENT` naming exactly `fields`, in that order.
#[track_caller]
pub fn assert_invalid_argument(status: &Status, fields: &[&str]) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(status), fields, "{status:?}");
}

/// Asserts that `result` is an `INVALID_ARGUMENT` error naming exactly `fields`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, fields: &[&str]) {
    match result {
        Ok(value) => panic!("expected INVALID_ARGUMENT naming {fields:?}, got {value:?}"),
        Err(status) => assert_invalid_argument(&status, fields),
    }
}

/// Asserts that `status` has `code` and an `ErrorInfo` detail of `domain` with `reason`;
/// its metadata.
#[track_caller]
pub fn assert_reason(
    status: &Status,
    code: Code,
    domain: &str,
    reason: &str,
) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("an ErrorInfo detail in {status:?}"));
    assert_eq!(info.domain, domain, "{status:?}");
    assert_eq!(info.reason, reason, "{status:?}");
    info.metadata
}

/// A PostgreSQL URL on a loopback port where nothing listens: a database server that is
/// not there (yet).
pub fn unreachable_postgres_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on loopback")
        .port();
    format!("postgres://postgres@127.0.0.1:{port}/nothing")
}

/// Runs `scenario` with the URL of a PostgreSQL database of its own, then drops the
/// database. Without [`POSTGRES_URL_VAR`] it says that `test` was SKIPPED and runs nothing.
///
/// # Panics
///
/// When the PostgreSQL server does not answer, or the database cannot be dropped.
pub async fn on_postgres(test: &str, scenario: impl AsyncFnOnce(String)) {
    let database = match TempPostgres::create(test).await {
        Ok(Some(database)) => database,
        Ok(None) => return,
        Err(error) => panic!(
            "{test}: PostgreSQL does not answer: {}",
            crate::error::chain(&error)
        ),
    };
    scenario(database.url.clone()).await;
    if let Err(error) = database.drop_database().await {
        panic!(
            "{test}: the database is not dropped: {}",
            crate::error::chain(&error)
        );
    }
}
