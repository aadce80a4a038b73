//! Outbound channels: how one service calls another.
//!
//! [`Upstream::connect`] turns the addresses of a service's replicas into one clonable
//! channel for a generated client. The path of an outbound call, top to bottom:
//!
//! 0. when traces are exported, the call's client span, whose context goes out as the
//!    call's `traceparent` (see [`crate::trace`]); then the call metrics
//!    (`metrics::client`: `grpc_client_*`, with the callee), timed as the caller waits;
//! 1. [`OutboundDeadlineLayer`]: the call gets the inbound call's remaining time (or a
//!    default) as its deadline, sent as `grpc-timeout` and enforced here too;
//! 2. the caller's `authorization`, when the call is made on behalf of an authenticated
//!    inbound call (see [`crate::auth`]);
//! 3. the priority of the call: `bazaar-priority: continuation` when it is made inside a
//!    [`crate::priority::continuation`] scope (a saga drive, an event consumer, or a handler
//!    of a call that came in as one), so the callee admits it before new work;
//! 4. a buffer, so the channel is cheap to clone and share between tasks;
//! 5. a power-of-two-choices balancer over every address, weighing each by its peak EWMA
//!    latency, so a slow replica gets less traffic (tonic's own balancer sees no load and
//!    picks at random);
//! 6. one lazily connected HTTP/2 connection per address, with `TCP_NODELAY`, over TLS
//!    (the CA verifies the server and the host of the address, the process presents its
//!    own certificate; see [`crate::tls`]) unless the process runs `--plaintext`; a replica
//!    whose connection fails is passed over for [`COOLDOWN`] (a replica that is down
//!    refuses at once, which would otherwise look like the fastest one).
//!
//! Connecting lazily means a service starts and answers even when what it calls is down;
//! calls to a service that is down fail with `UNAVAILABLE` and the caller degrades.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, Load, PeakEwma};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};

use crate::auth::PropagateAuthLayer;
use crate::deadline::OutboundDeadlineLayer;
use crate::metrics::ClientMetricsLayer;
use crate::priority::PriorityLayer;
use crate::tls::Tls;
use crate::trace::ClientTraceLayer;

/// Errors as they come out of the balancer and buffer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many calls may wait for the balancer before callers are made to wait.
const BUFFER_CAPACITY: usize = 1024;
/// The latency a replica is assumed to have before it has answered anything.
const DEFAULT_RTT: Duration = Duration::from_millis(5);
/// How fast old latency samples lose their weight.
const DECAY: Duration = Duration::from_secs(10);
/// How long a replica whose connection failed is passed over.
pub const COOLDOWN: Duration = Duration::from_secs(2);

/// A channel to every replica of one service; give it to a generated client.
#[derive(Clone)]
pub struct Upstream {
    service: BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No address was given.
    #[error("no address given for {0}")]
    NoAddress(String),
    /// An address is not a valid `host:port` (or URI).
    #[error("{address:?} is not a valid address for {service}")]
    BadAddress {
        /// The service it was meant for.
        service: String,
        /// The address as given.
        address: String,
        /// What was wrong with it.
        #[source]
        source: tonic::transport::Error,
    },
}

impl Upstream {
    /// A channel to `service` (a name for messages) balanced over `addresses`
    /// (`host:port`, or a URI with its own scheme), over `tls`. Nothing is connected until
    /// the first call. Calls made outside any inbound call get `default_deadline`.
    pub fn connect(
        service: &str,
        addresses: &[String],
        default_deadline: Duration,
        tls: &Tls,
    ) -> Result<Self, UpstreamError> {
        if addresses.is_empty() {
            return Err(UpstreamError::NoAddress(service.to_owned()));
        }
        let mut replicas = Vec::with_capacity(addresses.len());
        for address in addresses {
            let endpoint = tls
                .endpoint(address)
                .map_err(|source| UpstreamError::BadAddress {
                    service: service.to_owned(),
                    address: address.clone(),
                    source,
                })?
                .connect_timeout(Duration::from_secs(1))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(true);
            let channel: Channel = endpoint.connect_lazy();
            replicas.push(Replica {
                inner: PeakEwma::new(
                    channel,
                    DEFAULT_RTT,
                    DECAY.as_nanos() as f64,
                    CompleteOnResponse::default(),
                ),
                cooling_until: Arc::new(Mutex::new(None)),
            });
        }
        let balanced = Balance::new(ServiceList::new(replicas));
        let service = ServiceBuilder::new()
            .option_layer(crate::trace::enabled().then(|| ClientTraceLayer::new(service)))
            .map_response(|response: Response<_>| response.map(Body::new))
            .layer(ClientMetricsLayer::new(service))
            .layer(OutboundDeadlineLayer::new(default_deadline))
            .layer(PropagateAuthLayer)
            .layer(PriorityLayer)
            .service(Buffer::new(balanced, BUFFER_CAPACITY));
        Ok(Self {
            service: BoxCloneSyncService::new(service),
        })
    }
}

/// One replica: its connection, weighed by latency, and passed over for a while after its
/// connection failed. The balancer compares `(cooling, latency)`, so any replica that is not
/// cooling wins over one that is, and among equals the faster wins.
struct Replica {
    inner: PeakEwma<Channel, CompleteOnResponse>,
    cooling_until: Arc<Mutex<Option<std::time::Instant>>>,
}

impl Replica {
    fn is_cooling(&self) -> bool {
        self.cooling_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .is_some_and(|until| std::time::Instant::now() < until)
    }
}

impl Load for Replica {
    type Metric = (
        bool,
        <PeakEwma<Channel, CompleteOnResponse> as Load>::Metric,
    );

    fn load(&self) -> Self::Metric {
        (self.is_cooling(), self.inner.load())
    }
}

impl Service<Request<Body>> for Replica {
    type Response = Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let response = self.inner.call(request);
        let cooling_until = self.cooling_until.clone();
        Box::pin(async move {
            let result = response.await;
            // gRPC errors arrive as responses; an Err here is the connection failing.
            if result.is_err()
                && let Ok(mut until) = cooling_until.lock()
            {
                *until = Some(std::time::Instant::now() + COOLDOWN);
            }
            result
        })
    }
}

impl Service<Request<Body>> for Upstream {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = <BoxCloneSyncService<Request<Body>, Response<Body>, BoxError> as Service<
        Request<Body>,
    >>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.service.call(request)
    }
}
