//! The life of a service process, written once.
//!
//! A service crate says what is its own by implementing [`Service`]: its row of the
//! [`topology`](crate::topology), its `Config`, how it builds its handlers and clients, the
//! gRPC services it serves, how it opens its store, what it runs in the background and what it
//! finishes before it exits. Everything else is the same for every service and happens here,
//! in this order:
//!
//! 1. [`serve`]: telemetry, then the effective configuration logged (store URLs hide their
//!    passwords in `Debug`);
//! 2. [`Bound::bind`]: its TLS files are read (or `--plaintext` is said loudly), the service
//!    is built ([`Service::build`]; its clients of other services present the same
//!    certificate), the socket bound (port 0 works; [`Bound::local_addr`] tells the real
//!    one), its routes added with the configured message-size limit, token verification
//!    installed when it checks callers;
//! 3. [`Bound::run`]: health reports `NOT_SERVING` while [`Service::open`] is retried with
//!    backoff, and `SERVING` once it succeeds, so a service answers only once it can serve
//!    its RPCs (an open that fails with [`Unrecoverable`] is not retried: the service stops
//!    and reports it); the background work starts; the server serves until the stop signal;
//!    once ready, [`Service::check`] runs every [`CHECK_EVERY`] (an SQL service checks that
//!    its store can take a write, see [`crate::store::check`]): while it fails, health
//!    reports `NOT_SERVING`, and `SERVING` again once it passes, each change logged;
//! 4. on stop: health turns `NOT_SERVING`, in-flight calls drain by a hard deadline, the
//!    background work is told to stop and awaited, and [`Service::close`] closes the store.
//!
//! Every binary (`main.rs` is one line: [`main`]), `bazaar serve`, `bazaar up` and the
//! in-process test shop go through this one path, by way of a [`Runner`] ([`process`]), so
//! what is added here (TLS, metrics, replicas) reaches every service at once.

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::MessageLimits;

use crate::admin::Admin;
use crate::auth::Verifier;
use crate::backoff::Backoff;
use crate::client::{Upstream, UpstreamError};
use crate::clock::{Clock, SystemClock};
use crate::config::{IdentityArgs, ServerArgs, split_addresses};
use crate::server::{GrpcService, Readiness, ServeError, Server};
use crate::shutdown::{Shutdown, Slept};
use crate::tls::{Tls, TlsError};
use crate::topology::Spec;

mod process;

pub use process::{Launch, Process, RunFuture, Runner, main, process_main, serve};

/// Any error a service reports from building or opening; logged with its whole chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An error of [`Service::open`] that retrying cannot cure (a key that does not open its
/// store, say): the service stops with it instead of retrying, and [`Bound::run`] returns
/// it as [`StartError::Open`].
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Unrecoverable(pub BoxError);

/// The settings of a service: a `clap` parser that flattens the shared [`ServerArgs`].
pub trait ServiceConfig: clap::Parser + Debug + Send + Sync + 'static {
    /// The settings every service shares.
    fn server(&self) -> &ServerArgs;
}

/// A service of the shop, as the chassis runs it. See the [module](self) documentation.
pub trait Service: Sized + Send + Sync + 'static {
    /// Its row of the service table.
    const SPEC: &'static Spec;

    /// Its settings.
    type Config: ServiceConfig;

    /// Builds the handlers and the (lazily connecting) clients. Nothing here waits for
    /// another service or a database: that is [`Service::open`]'s job.
    fn build(
        config: &Self::Config,
        setup: &mut Setup<'_>,
    ) -> impl Future<Output = Result<Self, BoxError>> + Send;

    /// Adds the gRPC services it serves.
    fn routes(&self, routes: &mut Routes<'_>);

    /// Opens what the service needs before it can answer (its store, its keys). Retried
    /// with backoff while it fails, unless it fails with [`Unrecoverable`]; the service
    /// reports `SERVING` once it succeeds.
    fn open(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Whether what the service needs to answer still works, once it is open: its store
    /// takes a write (an SQL service says `chassis::store::check_cell(&self.store,
    /// Store::pool)`). Checked every [`CHECK_EVERY`]; health reports `NOT_SERVING` while it
    /// fails.
    fn check(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Work that runs beside the server (sweepers, followers of an event stream, resuming
    /// sagas) until `stop` fires; awaited before [`Service::close`].
    fn background(self: Arc<Self>, stop: Shutdown) -> impl Future<Output = ()> + Send + 'static {
        let _ = stop;
        std::future::ready(())
    }

    /// Finishes after the server has drained: lets its own work pause, closes the store.
    fn close(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The gRPC services a service adds to its server, each bounded by the configured message
/// size.
pub struct Routes<'a> {
    server: &'a mut Server,
    max_message_bytes: usize,
}

impl Routes<'_> {
    /// Adds `service`; reflection and health advertise it under its full name.
    pub fn add(&mut self, service: impl MessageLimits + GrpcService) {
        self.server
            .push_service(service.limit_messages(self.max_message_bytes));
    }
}

/// What a service may ask for while it is built: the clock, the stop signal of its
/// background work, clients of the services it calls, and who checks its callers.
pub struct Setup<'a> {
    server: &'a ServerArgs,
    tls: Tls,
    overrides: &'a Overrides,
    stop: Shutdown,
    verifier: Option<Verifier>,
    refresh: Option<(Verifier, Duration)>,
}

impl Setup<'_> {
    /// The clock the service reads (the system's, or a test's).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.overrides
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock))
    }

    /// Fires when the service stops (or is dropped without running): work started while
    /// building watches it.
    pub fn stop(&self) -> Shutdown {
        self.stop.clone()
    }

    /// The settings every service shares.
    pub fn server(&self) -> &ServerArgs {
        self.server
    }

    /// The service's TLS (or plaintext), as its server and its clients use it.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// A lazily connecting client channel to `service` at `addresses` (comma-separated),
    /// with the default deadline of outbound calls, over the service's TLS (presenting its
    /// own certificate).
    pub fn upstream(
        &self,
        service: &'static str,
        addresses: &str,
    ) -> Result<Upstream, UpstreamError> {
        Upstream::connect(
            service,
            &split_addresses(addresses),
            self.server.default_deadline(),
            &self.tls,
        )
    }

    /// Checks callers' tokens with the keys identity publishes: fetched when the service
    /// starts, then every refresh period and on an unknown key. A test's verifier, when
    /// given, is used instead.
    pub fn verify_with_identity(
        &mut self,
        identity: &IdentityArgs,
    ) -> Result<Verifier, UpstreamError> {
        if let Some(verifier) = self.overrides.verifier.clone() {
            self.verifier = Some(verifier.clone());
            return Ok(verifier);
        }
        let verifier = Verifier::from_identity(self.upstream("identity", &identity.identity_addr)?);
        let every = Duration::from_secs(identity.signing_keys_refresh_secs.max(1));
        self.refresh = Some((verifier.clone(), every));
        self.verifier = Some(verifier.clone());
        Ok(verifier)
    }

    /// Checks callers' tokens with `verifier`, whose keys the service keeps itself.
    pub fn verify_with(&mut self, verifier: Verifier) {
        self.verifier = Some(verifier);
    }
}

/// What a test puts in place of the real thing when it binds a service.
#[derive(Clone, Default)]
pub struct Overrides {
    clock: Option<Arc<dyn Clock>>,
    verifier: Option<Verifier>,
}

impl Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("clock", &self.clock.is_some())
            .field("verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl Overrides {
    /// Time read from `clock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Tokens checked by `verifier` rather than with identity's keys.
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }
}

/// Why a service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The service could not be built from its settings.
    #[error("cannot set up {service}")]
    Build {
        /// Which service.
        service: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The service could not open what it needs, and retrying would not help.
    #[error("cannot open {service}")]
    Open {
        /// Which service.
        service: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The server could not bind or serve.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The TLS files are missing or unusable.
    #[error("cannot set up TLS for {service}")]
    Tls {
        /// Which service.
        service: &'static str,
        /// What is wrong.
        #[source]
        source: TlsError,
    },
}

/// Fires a [`Shutdown`] when dropped, so that what a service started while being built
/// stops with it even when it is dropped without running.
#[derive(Debug)]
struct StopOnDrop(Shutdown);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

/// A service built and bound to its address, not yet serving.
pub struct Bound<S: Service> {
    service: Arc<S>,
    server: Server,
    admin: Option<Admin>,
    readiness: Readiness,
    refresh: Option<(Verifier, Duration)>,
    stop: StopOnDrop,
}

impl<S: Service> Debug for Bound<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("service", &S::SPEC.name)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<S: Service> Bound<S> {
    /// Builds the service and binds its socket.
    pub async fn bind(config: &S::Config) -> Result<Self, StartError> {
        Self::bind_with(config, &Overrides::default()).await
    }

    /// Builds the service with a test's clock or verifier, and binds its socket.
    pub async fn bind_with(config: &S::Config, overrides: &Overrides) -> Result<Self, StartError> {
        let stop = StopOnDrop(Shutdown::new());
        let args = config.server();
        let tls = args.tls(S::SPEC.name).map_err(|source| StartError::Tls {
            service: S::SPEC.name,
            source,
        })?;
        let mut setup = Setup {
            server: args,
            tls: tls.clone(),
            overrides,
            stop: stop.0.clone(),
            verifier: None,
            refresh: None,
        };
        let service = S::build(config, &mut setup)
            .await
            .map_err(|source| StartError::Build {
                service: S::SPEC.name,
                source,
            })?;
        let Setup {
            verifier, refresh, ..
        } = setup;
        let mut server = Server::bind_with_tls(S::SPEC.name, args, S::SPEC.port, tls).await?;
        if let Some(verifier) = verifier {
            server = server.with_auth(verifier);
        }
        service.routes(&mut Routes {
            server: &mut server,
            max_message_bytes: args.max_message_bytes,
        });
        let readiness = server.readiness();
        let admin = match args.admin_listen_or(S::SPEC.port, S::SPEC.admin_port) {
            Some(addr) => Some(
                Admin::bind(addr, server.ready_flag())
                    .await
                    .map_err(|source| ServeError::Bind { addr, source })?
                    .with_grpc_health(server.health()),
            ),
            None => None,
        };
        Ok(Self {
            service: Arc::new(service),
            server,
            admin,
            readiness,
            refresh,
            stop,
        })
    }

    /// The address it is bound to (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The address of its admin listener (`/metrics`, `/healthz`, `/readyz`), unless it is
    /// `off`.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(Admin::local_addr)
    }

    /// The service itself, for tests that look inside.
    pub fn service(&self) -> &Arc<S> {
        &self.service
    }

    /// Whether it serves TLS or plaintext.
    pub fn tls(&self) -> &Tls {
        self.server.tls()
    }

    /// Opens, serves until `shutdown`, drains and closes. See the [module](self) docs.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let Bound {
            service,
            server,
            admin,
            readiness,
            refresh,
            stop,
        } = self;
        let forward = {
            let (outer, inner) = (shutdown.clone(), stop.0.clone());
            tokio::spawn(async move {
                outer.wait().await;
                inner.trigger();
            })
        };
        let refresher =
            refresh.map(|(verifier, every)| verifier.spawn_refresher(every, stop.0.clone()));
        let unrecoverable = Arc::new(std::sync::Mutex::new(None));
        let opener = tokio::spawn(open_until_ready(
            service.clone(),
            readiness,
            stop.0.clone(),
            Gave {
                up: shutdown.clone(),
                why: unrecoverable.clone(),
            },
        ));
        let background = tokio::spawn(service.clone().background(stop.0.clone()));
        // The admin listener answers until the very end, `/readyz` saying 503 while the
        // server drains.
        let admin_stop = Shutdown::new();
        let admin = admin.map(|admin| admin.spawn(admin_stop.clone()));

        let served = server.serve(shutdown).await;

        stop.0.trigger();
        forward.abort();
        opener.abort();
        if let Some(refresher) = refresher {
            refresher.abort();
        }
        if let Err(error) = background.await {
            tracing::error!(service = S::SPEC.name, %error, "background work ended abnormally");
        }
        service.close().await;
        admin_stop.trigger();
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        served?;
        let gave_up = unrecoverable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match gave_up {
            Some(source) => Err(StartError::Open {
                service: S::SPEC.name,
                source,
            }),
            None => Ok(()),
        }
    }
}

/// Where [`open_until_ready`] leaves an [`Unrecoverable`] error, and the signal that stops
/// the server when it does.
struct Gave {
    up: Shutdown,
    why: Arc<std::sync::Mutex<Option<BoxError>>>,
}

/// How often a ready service is checked ([`Service::check`]).
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls [`Service::open`] until it succeeds (then reports `SERVING`) or `stop` fires,
/// waiting longer after each failure; then checks the service until `stop`.
async fn open_until_ready<S: Service>(
    service: Arc<S>,
    readiness: Readiness,
    stop: Shutdown,
    gave: Gave,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
    loop {
        let opened = tokio::select! {
            () = stop.wait() => return,
            opened = service.open() => opened,
        };
        let error = match opened {
            Ok(()) => {
                readiness.set_serving().await;
                tracing::info!(service = S::SPEC.name, "ready");
                return check_while_serving(service, readiness, stop).await;
            }
            Err(error) => error,
        };
        if error.is::<Unrecoverable>() {
            tracing::error!(
                service = S::SPEC.name,
                error = %crate::error::chain(error.as_ref()),
                "cannot open, and retrying will not help: stopping"
            );
            *gave
                .why
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
            gave.up.trigger();
            return;
        }
        let delay = backoff.next_delay();
        tracing::error!(
            service = S::SPEC.name,
            error = %crate::error::chain(error.as_ref()),
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "cannot open; not serving yet"
        );
        if stop.sleep(delay).await == Slept::Stopped {
            return;
        }
    }
}

/// Checks the service every [`CHECK_EVERY`] until `stop`: `NOT_SERVING` while it fails,
/// `SERVING` again once it passes.
async fn check_while_serving<S: Service>(service: Arc<S>, readiness: Readiness, stop: Shutdown) {
    let mut serving = true;
    loop {
        if stop.sleep(CHECK_EVERY).await == Slept::Stopped {
            return;
        }
        let checked = tokio::select! {
            () = stop.wait() => return,
            checked = tokio::time::timeout(CHECK_TIMEOUT, service.check()) => checked,
        };
        match checked {
            Ok(Ok(())) if !serving => {
                serving = true;
                readiness.set_serving().await;
                tracing::info!(service = S::SPEC.name, "check passes again: serving");
            }
            Ok(Err(error)) if serving => {
                serving = false;
                readiness.set_not_serving().await;
                tracing::error!(
                    service = S::SPEC.name,
                    error = %crate::error::chain(error.as_ref()),
                    "check failed: not serving until it passes"
                );
            }
            Err(_) if serving => {
                serving = false;
                readiness.set_not_serving().await;
                tracing::error!(
                    service = S::SPEC.name,
                    timeout_secs = CHECK_TIMEOUT.as_secs(),
                    "check did not finish in time: not serving until it passes"
                );
            }
            // No change: still serving, or still failing.
            _ => {}
        }
    }
}
