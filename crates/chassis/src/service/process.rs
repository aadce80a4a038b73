//! A service as a process of the shop: the binary's `main`, and the [`Runner`] through which
//! the command line and the test shop start any service of the table by name.

use std::ffi::OsString;
use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;

use tokio::sync::oneshot;

use super::{Bound, Overrides, Service, ServiceConfig, StartError};
use crate::shutdown::Shutdown;
use crate::topology::Spec;

/// Something the command line runs as a process of the shop: a bound [`Service`]
/// ([`Bound`]), or the storefront, which answers HTTP rather than gRPC.
pub trait Process: Sized + Send + 'static {
    /// Its row of the service table.
    const SPEC: &'static Spec;
    /// Its settings.
    type Config: ServiceConfig;
    /// Why it could not start or stopped with an error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Builds it and binds its socket.
    fn bind(config: &Self::Config) -> impl Future<Output = Result<Self, Self::Error>> + Send;

    /// Builds it with a test's [`Overrides`] and binds its socket; what has no use for
    /// them binds as [`Process::bind`] does.
    fn bind_with(
        config: &Self::Config,
        overrides: &Overrides,
    ) -> impl Future<Output = Result<Self, Self::Error>> + Send {
        let _ = overrides;
        Self::bind(config)
    }

    /// The address it is bound to.
    fn local_addr(&self) -> SocketAddr;

    /// Serves until `shutdown`, then drains.
    fn run(self, shutdown: Shutdown) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<S: Service> Process for Bound<S> {
    const SPEC: &'static Spec = S::SPEC;
    type Config = S::Config;
    type Error = StartError;

    async fn bind(config: &S::Config) -> Result<Self, StartError> {
        Bound::bind(config).await
    }

    async fn bind_with(config: &S::Config, overrides: &Overrides) -> Result<Self, StartError> {
        Bound::bind_with(config, overrides).await
    }

    fn local_addr(&self) -> SocketAddr {
        Bound::local_addr(self)
    }

    async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        Bound::run(self, shutdown).await
    }
}

/// Runs `P` as a process would: telemetry, the configuration logged, bind, serve until
/// `shutdown`.
pub async fn serve<P: Process>(config: P::Config, shutdown: Shutdown) -> Result<(), P::Error> {
    crate::telemetry::init(P::SPEC.name, config.server());
    tracing::info!(service = P::SPEC.name, ?config, "starting");
    let result = async { P::bind(&config).await?.run(shutdown).await }.await;
    finish_telemetry().await;
    result
}

/// Sends the spans still queued before the process ends, by a deadline.
async fn finish_telemetry() {
    let finishing =
        tokio::task::spawn_blocking(|| crate::telemetry::finish(crate::telemetry::FLUSH_TIMEOUT));
    let _ = finishing.await;
}

/// The whole `main` of a service's own binary: flags, a runtime, [`serve`] until SIGINT or
/// SIGTERM; a start error goes to stderr with its causes, and the exit code is 1.
pub fn main<S: Service>() -> ExitCode {
    process_main::<Bound<S>>()
}

/// [`main`] for any [`Process`].
pub fn process_main<P: Process>() -> ExitCode {
    let config = <P::Config as clap::Parser>::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{}: cannot start the runtime: {error}", P::SPEC.name);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match serve::<P>(config, Shutdown::on_signals()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("{}: {}", P::SPEC.name, crate::error::chain(&error));
                ExitCode::FAILURE
            }
        }
    })
}

/// How a [`Runner`] starts a service: as the process (telemetry and the configuration
/// logged) or inside a test, and whom to tell the bound address.
#[derive(Debug, Default)]
pub struct Launch {
    /// Set up telemetry and log the configuration, as a process does.
    pub process: bool,
    /// Told the bound address (or why binding failed) before serving starts.
    pub bound: Option<oneshot::Sender<Result<SocketAddr, String>>>,
    /// What a test puts in place of the real thing (nothing, for a process).
    pub overrides: Overrides,
}

/// What a [`Runner`] returns: the service's run to its end, or why it failed.
pub type RunFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A service of the table, runnable from its command-line flags: the one way the command
/// line and the test shop start a service.
#[derive(Clone, Copy)]
pub struct Runner {
    /// Its row of the service table.
    pub spec: &'static Spec,
    run: fn(Vec<OsString>, Shutdown, Launch) -> RunFuture,
    flags: fn() -> clap::Command,
}

impl Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Runner").field(&self.spec.name).finish()
    }
}

impl Runner {
    /// The runner of gRPC service `S`.
    pub const fn of<S: Service>() -> Self {
        Self::process::<Bound<S>>()
    }

    /// The runner of any [`Process`].
    pub const fn process<P: Process>() -> Self {
        Self {
            spec: P::SPEC,
            run: run_process::<P>,
            flags: <P::Config as clap::CommandFactory>::command,
        }
    }

    /// Its flags, as `bazaar serve <service> --help` lists them, each with the `BAZAAR_*`
    /// variable it reads (`clap::Arg::get_env`): what deployment files may set.
    pub fn flags(&self) -> clap::Command {
        (self.flags)()
    }

    /// Parses `args` (the service's own flags, as its binary takes them) and runs it until
    /// `shutdown`.
    pub fn run(&self, args: Vec<OsString>, shutdown: Shutdown, launch: Launch) -> RunFuture {
        (self.run)(args, shutdown, launch)
    }
}

fn run_process<P: Process>(args: Vec<OsString>, shutdown: Shutdown, launch: Launch) -> RunFuture {
    Box::pin(async move {
        let Launch {
            process,
            bound,
            overrides,
        } = launch;
        let refuse = |message: String, bound: Option<oneshot::Sender<_>>| {
            if let Some(bound) = bound {
                let _ = bound.send(Err(message.clone()));
            }
            message
        };
        let argv = std::iter::once(OsString::from(P::SPEC.name)).chain(args);
        let config = match <P::Config as clap::Parser>::try_parse_from(argv) {
            Ok(config) => config,
            Err(error) => return Err(refuse(error.to_string(), bound)),
        };
        if process {
            crate::telemetry::init(P::SPEC.name, config.server());
            tracing::info!(service = P::SPEC.name, ?config, "starting");
        }
        let failed = |error: &P::Error| format!("{}: {}", P::SPEC.name, crate::error::chain(error));
        let running = match P::bind_with(&config, &overrides).await {
            Ok(running) => running,
            Err(error) => return Err(refuse(failed(&error), bound)),
        };
        if let Some(bound) = bound {
            let _ = bound.send(Ok(running.local_addr()));
        }
        let result = running.run(shutdown).await.map_err(|error| failed(&error));
        if process {
            finish_telemetry().await;
        }
        result
    })
}
