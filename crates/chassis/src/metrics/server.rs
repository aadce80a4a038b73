//! The RED metrics of every call a server answers: `grpc_server_started_total`,
//! `grpc_server_handled_total` and `grpc_server_handling_seconds`, labelled `grpc_type`,
//! `grpc_service`, `grpc_method` (and `grpc_code` once handled).
//!
//! [`ServerMetricsLayer`] is the outermost layer of the server's stack, so it counts every
//! call that reaches the process: those the in-flight limit refuses (`Unavailable`), those
//! whose deadline has passed, those the access rule refuses, and the ones served. How a
//! call is counted is [`super::call`]'s job.

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use super::call::{Counted, Recorders, Side};

/// Layer that counts and times every call of a server (see the [module](self) docs).
#[derive(Clone, Debug)]
pub struct ServerMetricsLayer {
    recorders: Arc<Recorders>,
}

impl Default for ServerMetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMetricsLayer {
    /// The layer; every server of the process shares one set of handles, as it shares one
    /// recorder.
    pub fn new() -> Self {
        static RECORDERS: OnceLock<Arc<Recorders>> = OnceLock::new();
        Self {
            recorders: RECORDERS
                .get_or_init(|| Arc::new(Recorders::new(Side::Server)))
                .clone(),
        }
    }
}

impl<S> Layer<S> for ServerMetricsLayer {
    type Service = ServerMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerMetrics {
            inner,
            recorders: self.recorders.clone(),
        }
    }
}

/// Counts and times every call to `S` (see [`ServerMetricsLayer`]).
#[derive(Clone, Debug)]
pub struct ServerMetrics<S> {
    inner: S,
    recorders: Arc<Recorders>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerMetrics<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::call::CountedBody<ResBody>>;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let call = self.recorders.start(request.uri().path());
        Counted::new(self.inner.call(request), call)
    }
}
