//! The spans of gRPC calls: a server span around every inbound call, a client span around
//! every outbound one, and the W3C trace context that joins them across the wire.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::finish::{Finish, Side, record, status_in};
// Health checks probe every second or so and would bury the shop's own traces: no span.
use crate::rpc::HEALTH_PATH;

/// The proto service and method of a gRPC path (`/bazaar.orders.v1.OrdersService/PlaceOrder`)
/// as the table of the process's methods knows them: a path it does not know is
/// `unknown`, so a caller cannot name spans as it likes.
fn rpc_of(path: &str) -> (&'static str, &'static str) {
    let methods = crate::rpc::Methods::get();
    let method = methods.method(methods.index_of(path));
    (method.service.as_str(), method.method.as_str())
}

/// Sets the attributes of the RPC conventions every gRPC span carries.
fn describe(span: &tracing::Span, service: &str, method: &str) {
    span.set_attribute("rpc.system", "grpc");
    span.set_attribute("rpc.service", service.to_owned());
    span.set_attribute("rpc.method", method.to_owned());
}

/// Layer that opens a server span around every inbound call of service `name` (health
/// checks aside), continuing the caller's trace (see [`ServerTrace`]).
#[derive(Clone, Copy, Debug)]
pub struct ServerTraceLayer {
    service: &'static str,
}

impl ServerTraceLayer {
    /// Server spans of the service whose table name is `service`.
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace {
            inner,
            service: self.service,
        }
    }
}

/// Runs each call in a span of kind server named `<proto service>/<method>`, whose parent
/// is the caller's span from the `traceparent` metadata (a new trace without one). The span
/// lasts until the response body ends and records the call's gRPC status.
#[derive(Clone, Debug)]
pub struct ServerTrace<S> {
    inner: S,
    service: &'static str,
}

impl<S, B> Service<Request<B>> for ServerTrace<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with(HEALTH_PATH) {
            return Box::pin(self.inner.call(request));
        }
        let (rpc_service, rpc_method) = rpc_of(path);
        let span = tracing::info_span!(
            "grpc",
            otel.name = %format_args!("{rpc_service}/{rpc_method}"),
            otel.kind = "server",
        );
        let _ = span.set_parent(super::extract(request.headers()));
        describe(&span, rpc_service, rpc_method);
        span.set_attribute("bazaar.service", self.service);
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(async move {
            let response = response.instrument(span.clone()).await?;
            Ok(finish(response, span, Side::Server))
        })
    }
}

/// Ends `span` with `response`: at once for a trailers-only response (an error, or an
/// empty stream), else when its body ends.
fn finish(response: Response<Body>, span: tracing::Span, side: Side) -> Response<Body> {
    if let Some(code) = status_in(response.headers()) {
        record(&span, side, code);
        return response;
    }
    response.map(|body| Body::new(Finish::new(body, span, side)))
}

/// Layer that opens a client span around every outbound call to service `callee` and sends
/// its context along (see [`ClientTrace`]).
#[derive(Clone, Debug)]
pub struct ClientTraceLayer {
    callee: Arc<str>,
}

impl ClientTraceLayer {
    /// Client spans of calls to the service whose table name is `callee`.
    pub fn new(callee: &str) -> Self {
        Self {
            callee: Arc::from(callee),
        }
    }
}

impl<S> Layer<S> for ClientTraceLayer {
    type Service = ClientTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientTrace {
            inner,
            callee: self.callee.clone(),
        }
    }
}

/// Runs each outbound call in a span of kind client, a child of the caller's current span,
/// and writes that span's context into the call's `traceparent` metadata, so the callee's
/// server span becomes its child. The span lasts until the response body ends.
#[derive(Clone, Debug)]
pub struct ClientTrace<S> {
    inner: S,
    callee: Arc<str>,
}

impl<S> Service<Request<Body>> for ClientTrace<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let (rpc_service, rpc_method) = rpc_of(request.uri().path());
        let span = tracing::info_span!(
            "grpc.call",
            otel.name = %format_args!("{rpc_service}/{rpc_method}"),
            otel.kind = "client",
        );
        describe(&span, rpc_service, rpc_method);
        span.set_attribute("peer.service", self.callee.to_string());
        super::inject(&span, request.headers_mut());
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(async move {
            match response.instrument(span.clone()).await {
                Ok(response) => Ok(finish(response, span, Side::Client)),
                Err(error) => {
                    // No response at all: the connection failed.
                    record(&span, Side::Client, Code::Unavailable);
                    Err(error)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::rpc_of;

    #[test]
    fn a_path_names_the_service_and_method_or_is_unknown() {
        assert_eq!(
            rpc_of("/bazaar.orders.v1.OrdersService/PlaceOrder"),
            ("bazaar.orders.v1.OrdersService", "PlaceOrder")
        );
        assert_eq!(rpc_of("/"), ("unknown", "unknown"));
        assert_eq!(rpc_of("/only"), ("unknown", "unknown"));
        assert_eq!(rpc_of("//PlaceOrder"), ("unknown", "unknown"));
        assert_eq!(
            rpc_of("/bazaar.orders.v1.OrdersService/MadeUp"),
            ("unknown", "unknown")
        );
    }
}
