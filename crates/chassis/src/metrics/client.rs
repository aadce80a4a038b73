//! The RED metrics of every outbound call: `grpc_client_started_total`,
//! `grpc_client_handled_total` and `grpc_client_handling_seconds`, labelled as the server's
//! are and with the `callee`, the service of the table that was called (`cart`).
//!
//! [`ClientMetricsLayer`] is the outermost layer of an [`crate::client::Upstream`], so a
//! call is timed as its caller waits for it: deadline, buffer, balancer and connection
//! included. A call that its deadline cut off is `DeadlineExceeded`; one whose connection
//! failed is `Unavailable`.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use super::call::{Counted, CountedBody, Recorders, Side};

/// Layer that counts and times every call to one service (see the [module](self) docs).
#[derive(Clone, Debug)]
pub(crate) struct ClientMetricsLayer {
    recorders: Arc<Recorders>,
}

impl ClientMetricsLayer {
    /// The layer of the calls to `callee`, a service of the table.
    pub(crate) fn new(callee: &str) -> Self {
        Self {
            recorders: Arc::new(Recorders::new(Side::Client {
                callee: callee.to_owned().into(),
            })),
        }
    }
}

impl<S> Layer<S> for ClientMetricsLayer {
    type Service = ClientMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientMetrics {
            inner,
            recorders: self.recorders.clone(),
        }
    }
}

/// Counts and times every call through `S` (see [`ClientMetricsLayer`]).
#[derive(Clone, Debug)]
pub(crate) struct ClientMetrics<S> {
    inner: S,
    recorders: Arc<Recorders>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientMetrics<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<CountedBody<ResBody>>;
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
