//! Ending a call's span when the call ends: when its response body ends (a stream lasts as
//! long as its body), with the gRPC status of its trailers.

use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderMap;
use opentelemetry::trace::Status as SpanStatus;
use tonic::body::Body;
use tonic::{Code, Status};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Which end of the call the span stands for; it decides which codes make it an error.
#[derive(Clone, Copy, Debug)]
pub(super) enum Side {
    Server,
    Client,
}

/// The gRPC status in `headers` (a trailers-only response, or the trailers themselves), read
/// as the metrics read it.
pub(super) fn status_in(headers: &HeaderMap) -> Option<Code> {
    crate::rpc::status_in(headers).map(|code| Code::from_i32(code as i32))
}

/// Records `code` on `span`: `rpc.grpc.status_code`, and an error status where the RPC
/// conventions say so (a client sees every code but OK as an error; a server only those
/// that are its own fault).
pub(super) fn record(span: &tracing::Span, side: Side, code: Code) {
    span.set_attribute("rpc.grpc.status_code", code as i64);
    let error = match side {
        Side::Client => code != Code::Ok,
        Side::Server => matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
    };
    if error {
        span.set_status(SpanStatus::error(code.description()));
    }
}

/// A response body that holds the call's span open until it ends, then records the status
/// its trailers carry (`CANCELLED` when it is dropped before its end).
pub(super) struct Finish {
    body: Body,
    span: tracing::Span,
    side: Side,
    recorded: bool,
}

impl Finish {
    pub(super) fn new(body: Body, span: tracing::Span, side: Side) -> Self {
        Self {
            body,
            span,
            side,
            recorded: false,
        }
    }

    fn record(&mut self, code: Code) {
        if !self.recorded {
            self.recorded = true;
            record(&self.span, self.side, code);
        }
    }
}

impl http_body::Body for Finish {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        match &frame {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in) {
                    self.record(code);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                let code = status.code();
                self.record(code);
            }
            // Ended without trailers: nothing says how it went.
            Poll::Ready(None) => self.record(Code::Unknown),
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        // Dropped before its end: the other side went away.
        self.record(Code::Cancelled);
    }
}
