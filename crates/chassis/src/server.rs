//! Serving a service: bind, announce, limit, drain.
//!
//! [`Server::bind`] takes the listening socket first, so port 0 works and the caller learns
//! the real address before anything is served. [`Server::serve`] then runs the accept loop
//! itself, on hyper's HTTP/2 connection builder, rather than through tonic's `Server`,
//! because the chassis needs three things that one does not give:
//!
//! - `TCP_NODELAY` on every accepted socket (without it small calls wait ~40 ms for Nagle's
//!   algorithm and delayed ACKs);
//! - deadlines answered with `DEADLINE_EXCEEDED` (tonic's own timeout answers `CANCELLED`),
//!   see [`crate::deadline`];
//! - a stop that drains in-flight calls but gives up at a hard deadline.
//!
//! Connections are TLS (see [`crate::tls`]) unless the process runs `--plaintext`; the
//! handshake runs on the connection's own task, bounded by
//! [`crate::tls::HANDSHAKE_TIMEOUT`], so a slow client never holds up the accept loop.
//! Before anything else of ours sees a request, it is given what the connection tells of
//! its caller: [`crate::auth::Peer`] (the identity in a verified client certificate,
//! `Anonymous` without one, `Unverified` in plaintext), tonic's `TcpConnectInfo` and, over
//! TLS, `TlsConnectInfo` (so `Request::remote_addr` and `Request::peer_certs` work as under
//! tonic's own server).
//!
//! A request goes through, top to bottom: the per-connection stream limit (HTTP/2
//! `max_concurrent_streams`), the call metrics (`metrics::server`: every call that
//! reaches the process is counted, refused ones too), the call's server span when traces
//! are exported (see [`crate::trace`]), the adaptive concurrency limit (see [`crate::limit`]:
//! refuses at once with `RESOURCE_EXHAUSTED` and a pushback hint when the process is over
//! what it can serve in time, instead of queueing until callers time out), the inbound
//! deadline, token verification (when the service checks callers, see [`crate::auth`]),
//! the access rule of the called method (`bazaar_contract::access`, enforced by
//! [`AccessLayer`]: a caller the rule does not admit is answered before any handler runs),
//! the injected faults when the process has a fault file (see [`crate::chaos`]; no layer
//! at all otherwise), then the routes: the service's own, `grpc.health.v1.Health`, and reflection v1
//! and v1alpha (grpcurl 1.8 speaks only v1alpha).
//!
//! Health is `NOT_SERVING` from the moment of binding until the service is ready, and again
//! from the first moment of a stop, so load balancers move traffic away before connections
//! close.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::{Service, ServiceBuilder};

use crate::admin::Ready;
use crate::auth::{AccessLayer, AuthLayer, Peer, Verifier};
use crate::chaos::{ChaosLayer, Faults};
use crate::config::ServerArgs;
use crate::deadline::InboundDeadlineLayer;
use crate::limit::ConcurrencyLimitLayer;
use crate::metrics::ServerMetricsLayer;
use crate::shutdown::Shutdown;
use crate::tls::{HANDSHAKE_TIMEOUT, Tls, TlsError, peer_of};
use crate::trace::ServerTraceLayer;

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The reflection service could not be built from the descriptor sets.
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// Any other I/O error of the listening socket.
    #[error("listening socket failed")]
    Io(#[from] std::io::Error),
    /// The TLS files are missing or unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A gRPC service as the generated servers are: routed by its full name, answering every
/// call (errors are statuses, never transport failures).
pub trait GrpcService:
    Service<
        Request<Body>,
        Error = Infallible,
        Response: axum::response::IntoResponse,
        Future: Send + 'static,
    > + NamedService
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> GrpcService for S where
    S: Service<
            Request<Body>,
            Error = Infallible,
            Response: axum::response::IntoResponse,
            Future: Send + 'static,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The names reflection advertises next to the service's own.
const INFRASTRUCTURE_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// A bound, not yet serving, gRPC server for one bazaar service.
pub struct Server {
    name: &'static str,
    listener: TcpListener,
    local_addr: SocketAddr,
    args: ServerArgs,
    routes: Routes,
    service_names: Vec<&'static str>,
    health: HealthReporter,
    readiness: Arc<tokio::sync::Mutex<ReadinessState>>,
    ready: Ready,
    ready_on_start: bool,
    verifier: Option<Verifier>,
    tls: Tls,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("local_addr", &self.local_addr)
            .field("services", &self.service_names)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listening socket of service `name`: the configured address, or loopback on
    /// `default_port`, with the TLS its settings name ([`ServerArgs::tls`]). Health reports
    /// `NOT_SERVING` from now on until the server is ready.
    pub async fn bind(
        name: &'static str,
        args: &ServerArgs,
        default_port: u16,
    ) -> Result<Self, ServeError> {
        let tls = args.tls(name)?;
        Self::bind_with_tls(name, args, default_port, tls).await
    }

    /// [`Server::bind`] with TLS already loaded.
    pub async fn bind_with_tls(
        name: &'static str,
        args: &ServerArgs,
        default_port: u16,
        tls: Tls,
    ) -> Result<Self, ServeError> {
        let addr = args.listen_or(default_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local_addr = listener.local_addr()?;
        let health = HealthReporter::new();
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        Ok(Self {
            name,
            listener,
            local_addr,
            args: args.clone(),
            routes: Routes::default(),
            service_names: Vec::new(),
            health,
            readiness: Arc::default(),
            ready: Ready::default(),
            ready_on_start: true,
            verifier: None,
            tls,
        })
    }

    /// Whether it serves TLS or plaintext.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Adds a gRPC service; it is advertised by reflection and health under its full name.
    pub fn add_service(mut self, service: impl GrpcService) -> Self {
        self.push_service(service);
        self
    }

    /// [`Server::add_service`], in place.
    pub(crate) fn push_service<S: GrpcService>(&mut self, service: S) {
        self.service_names.push(S::NAME);
        self.routes = std::mem::take(&mut self.routes).add_service(service);
    }

    /// Verifies the access token of every call that carries one with `verifier`, so that
    /// handlers can ask for the caller with [`crate::auth::caller`].
    pub fn with_auth(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Takes over readiness: the server will not report `SERVING` by itself when it starts;
    /// the service does, through the returned handle, once its own store is reachable.
    pub fn readiness(&mut self) -> Readiness {
        self.ready_on_start = false;
        Readiness {
            health: self.health.clone(),
            state: self.readiness.clone(),
            ready: self.ready.clone(),
        }
    }

    /// The health the server reports (`grpc.health.v1`), for the admin listener to serve
    /// the same statuses to plaintext probes (see [`crate::admin::health`]).
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// The flag that says, as health does, whether the server is serving (for the admin
    /// listener's `/readyz`).
    pub fn ready_flag(&self) -> Ready {
        self.ready.clone()
    }

    /// Serves until `shutdown` fires, then drains: health turns `NOT_SERVING`, no new
    /// connection is accepted, open connections are told to finish (HTTP/2 GOAWAY) and
    /// in-flight calls get up to the configured grace period before they are cut off.
    pub async fn serve(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let Server {
            name,
            listener,
            local_addr,
            args,
            routes,
            service_names,
            health,
            readiness,
            ready,
            ready_on_start,
            verifier,
            tls,
        } = self;

        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(bazaar_contract::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(bazaar_contract::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for service in service_names.iter().chain(INFRASTRUCTURE_SERVICES.iter()) {
            reflection_v1 = reflection_v1.with_service_name(*service);
            reflection_v1alpha = reflection_v1alpha.with_service_name(*service);
        }
        let routes = routes
            .add_service(tonic_health::pb::health_server::HealthServer::new(
                tonic_health::server::HealthService::from_health_reporter(health.clone()),
            ))
            .add_service(reflection_v1.build_v1()?)
            .add_service(reflection_v1alpha.build_v1alpha()?)
            .prepare();

        let stack = ServiceBuilder::new()
            .layer(ServerMetricsLayer::new())
            .option_layer(crate::trace::enabled().then(|| ServerTraceLayer::new(name)))
            .layer(ConcurrencyLimitLayer::new(
                args.max_in_flight,
                args.adaptive_limit,
            ))
            .layer(InboundDeadlineLayer)
            .option_layer(verifier.map(AuthLayer::new))
            .layer(AccessLayer)
            .option_layer(args.chaos_file.clone().map(|file| {
                let faults = Faults::new(&service_names);
                faults.watch(name, file, shutdown.clone());
                ChaosLayer::new(faults)
            }))
            .service(routes);

        let readiness = Readiness {
            health: health.clone(),
            state: readiness,
            ready,
        };
        readiness.start(&service_names, ready_on_start).await;
        tracing::info!(
            service = name,
            address = %local_addr,
            services = ?service_names,
            max_in_flight = args.max_in_flight,
            adaptive_limit = args.adaptive_limit,
            max_concurrent_streams = args.max_concurrent_streams,
            tls = !tls.is_plaintext(),
            chaos_file = ?args.chaos_file,
            "listening"
        );
        let acceptor = tls.server_config().map(tokio_rustls::TlsAcceptor::from);

        let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(args.max_concurrent_streams)
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(10));

        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = shutdown.wait() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Out of file descriptors and the like: back off briefly rather
                            // than spin, and keep serving the connections we have.
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, %peer, "cannot set TCP_NODELAY");
                    }
                    let tcp = TcpConnectInfo {
                        local_addr: Some(local_addr),
                        remote_addr: Some(peer),
                    };
                    let connection = Connection {
                        http2: http2.clone(),
                        stack: stack.clone(),
                        watcher: graceful.watcher(),
                    };
                    match &acceptor {
                        None => {
                            connections.spawn(connection.serve(stream, tcp, None, Peer::Unverified));
                        }
                        Some(acceptor) => {
                            let handshake = acceptor.accept(stream);
                            connections.spawn(async move {
                                let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                                    Ok(Ok(stream)) => stream,
                                    Ok(Err(error)) => {
                                        tracing::debug!(%error, %peer, "TLS handshake failed");
                                        return;
                                    }
                                    Err(_) => {
                                        tracing::debug!(%peer, "TLS handshake timed out");
                                        return;
                                    }
                                };
                                // Only certificates of the CA get this far (the verifier refuses
                                // any other during the handshake).
                                let info = stream.connect_info();
                                let caller = peer_of(info.peer_certs().as_deref().map(Vec::as_slice));
                                connection.serve(stream, tcp, Some(info), caller).await;
                            });
                        }
                    }
                }
            }
        }

        readiness.stop().await;
        drop(listener);
        let grace = args.shutdown_grace();
        tracing::info!(
            service = name,
            open_connections = connections.len(),
            grace_secs = grace.as_secs(),
            "stopping: draining in-flight calls"
        );
        let drained = tokio::time::timeout(grace, async {
            graceful.shutdown().await;
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                service = name,
                cut_off = connections.len(),
                "grace period over: cutting off the remaining connections"
            );
            connections.shutdown().await;
        }
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}

/// What one accepted connection is served with.
struct Connection<S> {
    http2: hyper::server::conn::http2::Builder<TokioExecutor>,
    stack: S,
    watcher: Watcher,
}

impl<S, B> Connection<S>
where
    S: Service<Request<hyper::body::Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// Serves the connection `io` until it ends, leaving in every request what the
    /// connection tells of its caller.
    async fn serve<I>(
        self,
        io: I,
        tcp: TcpConnectInfo,
        tls: Option<TlsConnectInfo<TcpConnectInfo>>,
        caller: Peer,
    ) where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let remote = tcp.remote_addr;
        let service = ServiceBuilder::new()
            .map_request(move |mut request: Request<hyper::body::Incoming>| {
                let extensions = request.extensions_mut();
                extensions.insert(caller.clone());
                extensions.insert(tcp.clone());
                if let Some(tls) = &tls {
                    extensions.insert(tls.clone());
                }
                request
            })
            .service(self.stack);
        let connection = self
            .http2
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        if let Err(error) = self.watcher.watch(connection).await {
            tracing::debug!(%error, peer = ?remote, "connection ended with an error");
        }
    }
}

/// The handle a service uses to say whether it can serve (see [`Server::readiness`]).
///
/// What the service reports is kept, so it may report before `serve` starts (a store opened
/// in the background can win that race) and before every service is added; and once a stop
/// has begun, the server stays `NOT_SERVING` whatever the service reports.
#[derive(Clone, Debug)]
pub struct Readiness {
    health: HealthReporter,
    state: Arc<tokio::sync::Mutex<ReadinessState>>,
    ready: Ready,
}

/// What the readiness handles and [`Server::serve`] share. The lock is held while the
/// statuses are reported, so that reports never interleave.
#[derive(Debug, Default)]
struct ReadinessState {
    /// What the service (or `serve`, when it owns readiness) last reported.
    serving: bool,
    /// A stop has begun.
    stopping: bool,
    /// The services on the server, known once `serve` starts.
    names: Vec<String>,
}

impl Readiness {
    /// Reports the server and every service on it as `SERVING` (unless it is stopping).
    pub async fn set_serving(&self) {
        self.set(true).await;
    }

    /// Reports the server and every service on it as `NOT_SERVING`.
    pub async fn set_not_serving(&self) {
        self.set(false).await;
    }

    async fn set(&self, serving: bool) {
        let mut state = self.state.lock().await;
        state.serving = serving;
        self.report(&state).await;
    }

    /// `serve` starts: the services get the status reported so far, or `SERVING` when the
    /// server owns readiness.
    async fn start(&self, names: &[&'static str], ready: bool) {
        let mut state = self.state.lock().await;
        state.names = names.iter().map(ToString::to_string).collect();
        state.serving |= ready;
        self.report(&state).await;
    }

    /// A stop begins: `NOT_SERVING` from now on.
    async fn stop(&self) {
        let mut state = self.state.lock().await;
        state.stopping = true;
        self.report(&state).await;
    }

    async fn report(&self, state: &ReadinessState) {
        let status = if state.serving && !state.stopping {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.ready.set(status == ServingStatus::Serving);
        self.health.set_service_status("", status).await;
        for name in &state.names {
            self.health.set_service_status(name, status).await;
        }
    }
}
