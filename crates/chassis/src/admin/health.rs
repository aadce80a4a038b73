//! `grpc.health.v1.Health` on the admin listener, for probes that speak plaintext gRPC.
//!
//! Kubernetes' native gRPC probes (and most load balancers' health checks) cannot present
//! a certificate or verify one, so they cannot reach the main port, which serves TLS. The
//! admin listener is plaintext already, so it answers them, with two kinds of status:
//!
//! - every name the main port's health knows (`""`, the whole server, and each service's
//!   full name), read from the very [`HealthReporter`] the main port serves: the two ports
//!   can never disagree, and a probe sees `NOT_SERVING` while the service opens its store,
//!   while its check fails and from the first moment of a stop, exactly as a caller does;
//! - [`LIVENESS`]: `SERVING` whenever the listener answers at all. A process that is
//!   draining, or whose store or callee is down, is alive and must not be restarted for it
//!   (readiness takes it out of traffic instead); one that cannot answer this is stuck.
//!
//! A `Watch` ends when the listener stops, so that a watcher never holds up the end of the
//! process. The check is answered without the main port's layers (no limits, no access rule, no
//! metrics): health is never limited there either, and a probe must get through when the
//! process is at its limit.

use std::pin::Pin;

use futures_util::StreamExt;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

use crate::shutdown::Shutdown;

/// The service name whose status is `SERVING` for as long as the process answers: what a
/// liveness probe asks for (`grpc: {port: <admin port>, service: liveness}`).
pub const LIVENESS: &str = "liveness";

/// The path pattern of the health service on the admin router.
pub(crate) const ROUTE: &str = "/grpc.health.v1.Health/{*rest}";

/// The health service of the admin listener (see the [module](self) docs).
#[derive(Debug)]
pub struct AdminHealth {
    statuses: HealthService,
    stop: Shutdown,
}

impl AdminHealth {
    /// Answers what `reporter` (the main port's health) says, and [`LIVENESS`]; its
    /// watches end when `stop` fires.
    pub fn new(reporter: HealthReporter, stop: Shutdown) -> Self {
        Self {
            statuses: HealthService::from_health_reporter(reporter),
            stop,
        }
    }

    /// `statuses` until the listener stops.
    fn until_stopped(
        &self,
        statuses: impl Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static,
    ) -> Statuses {
        let stop = self.stop.clone();
        Box::pin(statuses.take_until(async move { stop.wait().await }))
    }
}

/// A stream of statuses, as `Watch` answers them.
type Statuses = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for AdminHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        if request.get_ref().service == LIVENESS {
            return Ok(Response::new(alive()));
        }
        self.statuses.check(request).await
    }

    type WatchStream = Statuses;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        if request.get_ref().service == LIVENESS {
            // One answer, then the stream stays open: liveness never changes while the
            // listener runs, and the stream ends with it.
            let alive = tokio_stream::once(Ok(alive())).chain(tokio_stream::pending());
            return Ok(Response::new(self.until_stopped(alive)));
        }
        let statuses = self.statuses.watch(request).await?.into_inner();
        Ok(Response::new(self.until_stopped(statuses)))
    }
}

/// The answer of [`LIVENESS`].
fn alive() -> HealthCheckResponse {
    HealthCheckResponse {
        status: ServingStatus::Serving.into(),
    }
}
