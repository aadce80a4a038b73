//! Counting and timing one gRPC call, on either end: what the server and client layers
//! ([`super::server`], [`super::client`]) share.
//!
//! A call is started when its request enters the layer and handled when its status is
//! known: from the `grpc-status` header of a trailers-only answer, from the trailers when
//! the body ends, `Canceled` when the response or its body is dropped before that (the
//! peer went away), `Unknown` when a body ends or fails without a status. Its time runs
//! until then, so a server stream is timed until it ends.
//!
//! The hot path is cheap: the row of a path is one hash lookup in the table of
//! [`crate::rpc::Methods`]; each row's handles (`started`, the histogram, and a counter per
//! code the row has seen) are registered with the recorder once, on the row's first call,
//! and reused. Before a recorder is installed nothing is registered or recorded (a handle
//! taken then would stay a no-op for the life of the process).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::Response;
use metrics::{Counter, Histogram, Label, SharedString};

use crate::rpc::{CANCELED, CODES, Method, Methods, UNAVAILABLE, UNKNOWN, status_in};

/// Which end of a call is counted, and so the metric names and labels.
#[derive(Debug)]
pub(crate) enum Side {
    /// `grpc_server_*`.
    Server,
    /// `grpc_client_*`, with the `callee` (a service of the table: `cart`).
    Client {
        /// The called service.
        callee: SharedString,
    },
}

/// The handles of one method on one side.
struct Handles {
    started: Counter,
    handled: [OnceLock<Counter>; CODES.len()],
    seconds: Histogram,
    labels: Vec<Label>,
    handled_name: &'static str,
}

impl Handles {
    fn handled(&self, code: usize) -> &Counter {
        self.handled[code].get_or_init(|| {
            let mut labels = self.labels.clone();
            labels.push(Label::from_static_parts("grpc_code", CODES[code]));
            metrics::counter!(self.handled_name, labels)
        })
    }
}

/// The handles of every method on one side, registered as methods are first called.
pub(crate) struct Recorders {
    side: Side,
    methods: &'static Methods,
    rows: Box<[OnceLock<Handles>]>,
}

impl std::fmt::Debug for Recorders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorders")
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl Recorders {
    /// The recorders of one side, over the process's table of methods.
    pub(crate) fn new(side: Side) -> Self {
        let methods = Methods::get();
        Self {
            side,
            methods,
            rows: (0..methods.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Starts counting a call of `path`, or nothing when no recorder is installed.
    pub(crate) fn start(self: &Arc<Self>, path: &str) -> Option<Call> {
        if !super::installed() {
            return None;
        }
        let row = self.methods.index_of(path);
        self.handles(row).started.increment(1);
        Some(Call {
            recorders: self.clone(),
            row,
            started: Instant::now(),
            done: false,
        })
    }

    fn handles(&self, row: usize) -> &Handles {
        self.rows[row].get_or_init(|| self.register(self.methods.method(row)))
    }

    fn register(&self, method: &'static Method) -> Handles {
        let mut labels = vec![
            Label::from_static_parts("grpc_type", method.grpc_type),
            Label::from_static_parts("grpc_service", method.service.as_str()),
            Label::from_static_parts("grpc_method", method.method.as_str()),
        ];
        let (started, handled, seconds) = match &self.side {
            Side::Server => (
                "grpc_server_started_total",
                "grpc_server_handled_total",
                "grpc_server_handling_seconds",
            ),
            Side::Client { callee } => {
                labels.push(Label::new("callee", callee.clone()));
                (
                    "grpc_client_started_total",
                    "grpc_client_handled_total",
                    "grpc_client_handling_seconds",
                )
            }
        };
        Handles {
            started: metrics::counter!(started, labels.clone()),
            handled: std::array::from_fn(|_| OnceLock::new()),
            seconds: metrics::histogram!(seconds, labels.clone()),
            labels,
            handled_name: handled,
        }
    }
}

/// One call being counted: handled once, when its code is known, or `Canceled` when it is
/// dropped before.
pub(crate) struct Call {
    recorders: Arc<Recorders>,
    row: usize,
    started: Instant,
    done: bool,
}

impl Call {
    /// The call ended with `code` (an index in [`CODES`]); later ends are ignored.
    fn finish(&mut self, code: usize) {
        if self.done {
            return;
        }
        self.done = true;
        let handles = self.recorders.handles(self.row);
        handles.handled(code).increment(1);
        handles.seconds.record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(CANCELED);
    }
}

pin_project_lite::pin_project! {
    /// The future of a counted call: reads a trailers-only status and hands the call on to
    /// the response body. An `Err` (the connection failed, on the client's side) is
    /// `Unavailable`, as tonic reports it to the caller.
    pub struct Counted<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F> Counted<F> {
    pub(crate) fn new(inner: F, call: Option<Call>) -> Self {
        Self { inner, call }
    }
}

impl<F, B, E> Future for Counted<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CountedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(call) = call.as_mut()
                    && let Some(code) = status_in(response.headers())
                {
                    call.finish(code);
                }
                Ok(response.map(|inner| CountedBody { inner, call }))
            }
            Err(error) => {
                if let Some(mut call) = call {
                    call.finish(UNAVAILABLE);
                }
                Err(error)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that finishes its call with the status of its trailers.
    pub struct CountedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B: http_body::Body> http_body::Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(call) = this.call.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        call.finish(status_in(trailers).unwrap_or(UNKNOWN));
                    }
                }
                Some(Err(_)) | None => call.finish(UNKNOWN),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
