//! What every server test starts from: a probe service served by `chassis::Server` on port 0,
//! and the clients that call it over real sockets.
//!
//! The probe is the contract's recommendation service; request metadata drives it:
//!
//! - `x-sleep-ms: N`: it waits N ms (on tokio's clock) before answering;
//! - `x-forward: 1`: it calls the next server through its [`Upstream`] and returns that answer,
//!   asking the next one to sleep `x-forward-sleep-ms` when that is set;
//!
//! and it records what every call carried on arrival, so tests assert on what a server saw.
//!
//! Probes serve TLS with the recommendation certificate of the test PKI (unless a test asks
//! for `plaintext`); clients verify them with its CA and present no certificate unless a
//! test gives one.
// Each test binary uses the part of this harness it needs.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use bazaar_contract::recommendation::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use bazaar_contract::recommendation::v1::{
    ListRecommendationsRequest, ListRecommendationsResponse,
};
use chassis::auth::Peer;
use chassis::client::Upstream;
use chassis::server::ServeError;
use chassis::tls::Tls;
use chassis::{Server, ServerArgs, Shutdown};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The name the probe serves under: its certificate is that service's.
pub(crate) const NAME: &str = "recommendation";

/// The full gRPC name of the probe, as health and reflection know it.
pub(crate) const PROBE: &str = "bazaar.recommendation.v1.RecommendationService";

/// How long a test waits for something that should happen promptly before it gives up: a
/// safety net against a hung test, never a measurement.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

/// What one call carried when it reached the probe.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    /// The `grpc-timeout` header, parsed.
    pub grpc_timeout: Option<Duration>,
    /// `chassis::deadline::current()` inside the handler.
    pub deadline: Option<Instant>,
    /// `Request::remote_addr()`: the caller's address.
    pub peer: Option<std::net::SocketAddr>,
    /// Who the connection's certificate named.
    pub identity: Peer,
    /// How many certificates `Request::peer_certs()` gave.
    pub peer_certs: usize,
    /// `chassis::priority::current()` inside the handler.
    pub priority: chassis::priority::Priority,
}

/// The test service (see the module comment).
#[derive(Clone)]
struct Probe {
    seen: Arc<Mutex<Vec<Seen>>>,
    upstream: Option<Upstream>,
}

#[tonic::async_trait]
impl RecommendationService for Probe {
    async fn list_recommendations(
        &self,
        request: Request<ListRecommendationsRequest>,
    ) -> Result<Response<ListRecommendationsResponse>, Status> {
        let metadata = request.metadata();
        let grpc_timeout = metadata
            .get(chassis::deadline::GRPC_TIMEOUT)
            .and_then(|value| http::HeaderValue::from_bytes(value.as_bytes()).ok())
            .and_then(|value| chassis::deadline::parse_timeout(&value));
        self.seen.lock().expect("not poisoned").push(Seen {
            grpc_timeout,
            deadline: chassis::deadline::current(),
            peer: request.remote_addr(),
            identity: chassis::auth::peer(request.extensions()),
            peer_certs: request.peer_certs().map_or(0, |certs| certs.len()),
            priority: chassis::priority::current(),
        });
        if let Some(ms) = metadata
            .get("x-sleep-ms")
            .and_then(|value| value.to_str().ok()?.parse().ok())
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if metadata.get("x-forward").is_none() {
            return Ok(Response::new(ListRecommendationsResponse::default()));
        }
        let upstream = self
            .upstream
            .clone()
            .expect("a forwarding probe has an upstream");
        let mut onward = Request::new(ListRecommendationsRequest::default());
        if let Some(ms) = metadata.get("x-forward-sleep-ms") {
            onward.metadata_mut().insert("x-sleep-ms", ms.clone());
        }
        RecommendationServiceClient::new(upstream)
            .list_recommendations(onward)
            .await
    }
}

/// A probe server bound on port 0 but not serving yet, so that a test can take over its
/// readiness first.
pub(crate) struct Bound {
    pub server: Server,
    seen: Arc<Mutex<Vec<Seen>>>,
    data: tempfile::TempDir,
}

/// Binds a probe server with the test defaults changed by `configure`; it forwards to
/// `upstream` when asked to.
pub(crate) async fn bind(
    configure: impl FnOnce(&mut ServerArgs),
    upstream: Option<Upstream>,
) -> Bound {
    bind_with(configure, upstream, |_| {}).await
}

/// Like [`bind`], and lets `before_adding` act on the server before the probe is added.
pub(crate) async fn bind_with(
    configure: impl FnOnce(&mut ServerArgs),
    upstream: Option<Upstream>,
    before_adding: impl FnOnce(&mut Server),
) -> Bound {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut args = ServerArgs::for_tests(data.path());
    configure(&mut args);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let probe = Probe {
        seen: seen.clone(),
        upstream,
    };
    let mut server = Server::bind(NAME, &args, 0)
        .await
        .expect("binds port 0 on loopback");
    before_adding(&mut server);
    let server = server.add_service(RecommendationServiceServer::new(probe));
    Bound { server, seen, data }
}

/// A probe server with the test defaults, serving.
pub(crate) async fn start() -> Running {
    bind(|_| {}, None).await.serve()
}

impl Bound {
    /// Spawns `serve` with a fresh stop signal.
    pub(crate) fn serve(self) -> Running {
        let address = self.server.local_addr();
        let tls = self.server.tls().anonymous();
        let shutdown = Shutdown::new();
        let serving = tokio::spawn(self.server.serve(shutdown.clone()));
        Running {
            address,
            tls,
            seen: self.seen,
            shutdown,
            serving,
            _data: self.data,
        }
    }
}

/// A probe server being served.
pub(crate) struct Running {
    pub address: SocketAddr,
    /// How clients reach it: the CA and no certificate, or plaintext.
    pub tls: Tls,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub shutdown: Shutdown,
    pub serving: JoinHandle<Result<(), ServeError>>,
    _data: tempfile::TempDir,
}

impl Running {
    /// A new connection, through tonic's own channel.
    pub(crate) async fn channel(&self) -> Channel {
        self.channel_with(&self.tls).await.expect("connects")
    }

    /// A new connection over `tls`, or why it could not be made.
    pub(crate) async fn channel_with(&self, tls: &Tls) -> Result<Channel, tonic::transport::Error> {
        tls.endpoint(&self.address.to_string())
            .expect("a valid URI")
            .connect()
            .await
    }

    /// A probe client on a new connection, through tonic's own channel.
    pub(crate) async fn client(&self) -> RecommendationServiceClient<Channel> {
        RecommendationServiceClient::new(self.channel().await)
    }

    /// A probe client on a new connection that keeps no timer of its own: tonic's channel
    /// gives up at the call's timeout by itself (and reports that as `CANCELLED`), so a test
    /// that wants the server's own answer to an expired deadline needs this one.
    pub(crate) async fn untimed_client(&self) -> RecommendationServiceClient<Untimed> {
        let stream = tokio::net::TcpStream::connect(self.address)
            .await
            .expect("connects");
        let sender = if self.tls.is_plaintext() {
            handshake(stream).await
        } else {
            let pki = chassis::pki::for_tests();
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(pki.ca_cert()).expect("the test CA") {
                roots.add(ca.expect("a certificate")).expect("a usable CA");
            }
            let mut config = rustls::ClientConfig::builder_with_provider(chassis::tls::provider())
                .with_safe_default_protocol_versions()
                .expect("TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec()];
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::from(self.address.ip()), stream)
                .await
                .expect("TLS handshake");
            handshake(stream).await
        };
        let origin = format!("{}://{}", self.tls.scheme(), self.address)
            .parse()
            .expect("a valid URI");
        RecommendationServiceClient::with_origin(Untimed(sender), origin)
    }

    /// The health of `service` ("" for the whole server), asked on a new connection.
    pub(crate) async fn health(&self, service: &str) -> ServingStatus {
        let response = HealthClient::new(self.channel().await)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health answers");
        ServingStatus::try_from(response.into_inner().status).expect("a known status")
    }

    /// What the probe saw, oldest first.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// Waits until the probe has seen `count` calls, so that a test acts while they are in
    /// flight rather than guessing how long they take to arrive.
    pub(crate) async fn wait_for_calls(&self, count: usize) {
        tokio::time::timeout(PATIENCE, async {
            while self.seen.lock().expect("not poisoned").len() < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the calls arrive (safety net, not a measurement)");
    }

    /// Waits for `serve` to return after a stop was asked for, and returns what it returned.
    pub(crate) async fn stopped(self) -> Result<(), ServeError> {
        tokio::time::timeout(PATIENCE, self.serving)
            .await
            .expect("serve returns (safety net, not a measurement)")
            .expect("the serve task did not panic")
    }

    /// Asks for a stop and checks that `serve` returns `Ok`.
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        self.stopped().await.expect("serve returns Ok");
    }
}

/// An [`Upstream`] over `addresses` with `default_deadline` for calls made outside any
/// inbound call, presenting the certificate of orders.
pub(crate) fn upstream(addresses: &[SocketAddr], default_deadline: Duration) -> Upstream {
    let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    Upstream::connect(
        NAME,
        &addresses,
        default_deadline,
        &client_tls(Some("orders")),
    )
    .expect("addresses are valid")
}

/// An HTTP/2 connection over `io`, driven on a task of its own.
async fn handshake<I>(io: I) -> hyper::client::conn::http2::SendRequest<tonic::body::Body>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

/// A probe request with the given metadata.
pub(crate) fn call(metadata: &[(&'static str, &str)]) -> Request<ListRecommendationsRequest> {
    let mut request = Request::new(ListRecommendationsRequest::default());
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("ASCII metadata"));
    }
    request
}

/// One raw HTTP/2 connection as a gRPC transport (see [`Running::untimed_client`]).
#[derive(Clone)]
pub(crate) struct Untimed(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

impl tower::Service<http::Request<tonic::body::Body>> for Untimed {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// The test PKI's TLS as a client, presenting the certificate of `identity` (a service, or
/// `operator`) or none.
pub(crate) fn client_tls(identity: Option<&str>) -> Tls {
    let pki = chassis::pki::for_tests();
    match identity {
        Some(name) => Tls::client(&pki.ca_cert(), Some((&pki.cert(name), &pki.key(name)))),
        None => Tls::client(&pki.ca_cert(), None),
    }
    .expect("the test PKI is readable")
}
