//! Retrying what is safe to repeat, within the caller's deadline and a budget.
//!
//! [`RetryLayer`] sits in every [`crate::client::Upstream`], right above the buffer and the
//! balancer, so each attempt is balanced afresh and may go to another replica. tower's own
//! `Retry` cannot be used: it clones the request, and a tonic request body is a stream.
//! For a **unary** call (the method table of `crate::rpc` knows each method's type) the
//! encoded request is small and finite, so it is read once into memory and a new request is
//! built from the same bytes for each attempt; a request larger than [`MAX_REPLAYED_BYTES`]
//! and every stream go through once, unretried.
//!
//! What is retried — and nothing else:
//!
//! - a call that failed **before the callee processed it**: the connection could not be
//!   made (`tonic::ConnectError`), the stream was refused (HTTP/2 `REFUSED_STREAM`, as a
//!   draining server answers new streams) or never sent; or the server itself refused the
//!   call with `UNAVAILABLE` or `RESOURCE_EXHAUSTED` carrying [`PUSHBACK`] (the chassis puts
//!   that header on its refusals only — the limit's, the store's "not ready yet" — and a
//!   pushback means "not processed"), see [`refused`];
//! - a **transient failure** (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `ABORTED`, or a
//!   connection lost mid-call) of a call whose request carries a non-empty `request_id`:
//!   the callee deduplicates by it, so a repeat cannot act twice.
//!
//! A refusal for overload (`RESOURCE_EXHAUSTED` with a pushback) is retried only while the
//! balancer has a replica that has not pushed back lately: the retry is for going
//! elsewhere, and a service whose every replica is over its limit is only made busier by
//! being asked again. A call the caller's own throttle declined to send
//! ([`crate::throttle`]) is never retried.
//!
//! Never: `INVALID_ARGUMENT`, `NOT_FOUND`, `PERMISSION_DENIED`, `DEADLINE_EXCEEDED` or any
//! other code, a streaming call, a `UNAVAILABLE` without pushback of a call without
//! `request_id` (it may have been processed: a charge, a reservation), a response whose
//! status comes in trailers (the callee answered, with a body).
//!
//! Whether a request carries a `request_id` is read from the encoded bytes: the descriptor
//! set says which input messages have one and under which field number, and only that
//! field is decoded (a length-delimited field, skipped past every other one). Generated code
//! cannot mark a call for us without changing every call site, and the bytes are in hand.
//!
//! The waits: exponential backoff with full jitter ([`crate::backoff`]) from
//! [`FIRST_BACKOFF`], and at least the server's pushback when it sent one (a negative or
//! malformed pushback means "do not retry", as gRPC's retry design says). A retry is made
//! only while the deadline (`grpc-timeout`, set by the outbound deadline layer above) leaves
//! room for the wait and another attempt as long as the last one took; each attempt is sent
//! with the time that is left. At most [`MAX_ATTEMPTS`] attempts.
//!
//! The budget: every call deposits into a `tower` [`TpsBudget`] shared by the upstream's
//! clones, every retry withdraws; retries stay within [`RETRY_RATIO`] of the calls of the
//! last second plus [`RETRIES_PER_SEC`] (Finagle's rule). When a callee is down for good,
//! the calls it gets are thus at most 1.2× those made, plus 10 a second — a retry storm
//! cannot multiply the load on a service that is already failing.
//!
//! Recorded: `bazaar_client_retries_total{callee,reason}` (reason `unprocessed`, `refused`
//! or `transient`, as above) and `bazaar_client_retry_budget_exhausted_total{callee}`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use metrics::SharedString;
use tokio::time::Instant;
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tower::retry::budget::{Budget, TpsBudget};
use tower::{Layer, Service, ServiceExt};

use crate::backoff::{Backoff, Jitter};
use crate::client::BoxError;
use crate::deadline::{GRPC_TIMEOUT, encode_timeout, parse_timeout};
use crate::rpc::{self, Methods};
use crate::throttle::Throttled;

/// The trailer (or header, in a trailers-only answer) by which a server says a call was
/// not processed and may be retried after that many milliseconds.
pub const PUSHBACK: &str = "grpc-retry-pushback-ms";
/// At most this many attempts of one call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// The wait before the first retry, before jitter; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// The longest wait between two attempts, before a pushback.
pub const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// Retries allowed in proportion to calls made, over the last [`BUDGET_WINDOW`].
pub const RETRY_RATIO: f32 = 0.2;
/// Retries allowed a second whatever the traffic, so that a quiet caller can retry too.
pub const RETRIES_PER_SEC: u32 = 10;
/// How long a call counts towards the budget.
pub const BUDGET_WINDOW: Duration = Duration::from_secs(1);
/// The largest request that is kept for a retry; a larger one goes through once.
pub const MAX_REPLAYED_BYTES: usize = 1 << 20;
/// The longest pushback honoured: a server asking for more is asked again after this.
const MAX_PUSHBACK: Duration = Duration::from_secs(5);

/// Marks `status`, a refusal made before any work was done, as safe to retry after
/// `after`: the caller's chassis retries it (see the [module](self) docs).
pub fn refused(mut status: Status, after: Duration) -> Status {
    let millis = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    status
        .metadata_mut()
        .insert(PUSHBACK, tonic::metadata::MetadataValue::from(millis));
    status
}

/// Layer that retries what is safe to retry (see the [module](self) docs); its clones share
/// one budget.
#[derive(Clone)]
pub struct RetryLayer {
    shared: Arc<Shared>,
}

struct Shared {
    callee: SharedString,
    budget: TpsBudget,
    /// Whether a replica is left that has not refused for overload lately; none: an
    /// overload refusal is final.
    elsewhere: Option<Elsewhere>,
}

/// Asks the balancer whether any replica has not pushed back lately.
pub type Elsewhere = Arc<dyn Fn() -> bool + Send + Sync>;

impl std::fmt::Debug for RetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryLayer")
            .field("callee", &self.shared.callee)
            .finish_non_exhaustive()
    }
}

impl RetryLayer {
    /// Retries for the calls to `callee` (a service of the table, for the metrics).
    pub fn new(callee: &str) -> Self {
        Self {
            shared: Arc::new(Shared {
                callee: callee.to_owned().into(),
                budget: TpsBudget::new(BUDGET_WINDOW, RETRIES_PER_SEC, RETRY_RATIO),
                elsewhere: None,
            }),
        }
    }

    /// Retries that repeat an overload refusal only while `elsewhere` says some replica
    /// has not refused lately (see the [module](self) docs).
    pub fn with_elsewhere(callee: &str, elsewhere: Elsewhere) -> Self {
        Self {
            shared: Arc::new(Shared {
                callee: callee.to_owned().into(),
                budget: TpsBudget::new(BUDGET_WINDOW, RETRIES_PER_SEC, RETRY_RATIO),
                elsewhere: Some(elsewhere),
            }),
        }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`RetryLayer`].
#[derive(Clone)]
pub struct Retry<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for Retry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("callee", &self.shared.callee)
            .finish_non_exhaustive()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> Service<Request<Body>> for Retry<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready makes the first attempt.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let methods = Methods::get();
        let method = methods.method(methods.index_of(request.uri().path()));
        if method.grpc_type != "unary" || method.service == "unknown" {
            let mut inner = inner;
            return Box::pin(inner.call(request));
        }
        let request_id = method.request_id;
        let shared = self.shared.clone();
        Box::pin(attempts(inner, shared, request, request_id))
    }
}

/// Every attempt of one unary call, until one is final.
async fn attempts<S>(
    mut inner: S,
    shared: Arc<Shared>,
    request: Request<Body>,
    request_id: Option<u32>,
) -> Result<Response<Body>, BoxError>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError> + Send,
    S::Future: Send,
{
    shared.budget.deposit();
    let (parts, body) = request.into_parts();
    let bytes = match replayable(body).await {
        Ok(Replay::Whole(bytes)) => bytes,
        Ok(Replay::Once(body)) => return inner.call(Request::from_parts(parts, body)).await,
        // The caller's own encoder failed: nothing was sent.
        Err(status) => return Ok(status.into_http()),
    };
    let idempotent = request_id.is_some_and(|field| carries_request_id(&bytes, field));
    let deadline = parts
        .headers
        .get(GRPC_TIMEOUT)
        .and_then(parse_timeout)
        .map(|timeout| Instant::now() + timeout);
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).with_jitter(Jitter::Full);
    let mut attempt = 1;
    loop {
        let mut request = Request::from_parts(
            parts.clone(),
            Body::new(http_body_util::Full::new(bytes.clone())),
        );
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            request
                .headers_mut()
                .insert(GRPC_TIMEOUT, encode_timeout(left));
        }
        let started = Instant::now();
        // The first attempt goes to the service that was polled ready for this call.
        if attempt > 1 {
            inner.ready().await?;
        }
        let result = inner.call(request).await;
        let Some(Retryable {
            reason,
            pushback,
            overload,
        }) = verdict(&result, idempotent)
        else {
            return result;
        };
        // An overloaded service asked again adds to its load unless the retry can go to a
        // replica that has room.
        if overload && shared.elsewhere.as_ref().is_some_and(|any| !any()) {
            return result;
        }
        if attempt >= MAX_ATTEMPTS {
            return result;
        }
        let delay = backoff
            .next_delay()
            .max(pushback.unwrap_or_default().min(MAX_PUSHBACK));
        if let Some(deadline) = deadline {
            let room = started.elapsed().max(Duration::from_millis(1));
            if Instant::now() + delay + room >= deadline {
                return result;
            }
        }
        if !shared.budget.withdraw() {
            metrics::counter!("bazaar_client_retry_budget_exhausted_total",
                "callee" => shared.callee.clone())
            .increment(1);
            return result;
        }
        metrics::counter!("bazaar_client_retries_total",
            "callee" => shared.callee.clone(), "reason" => reason)
        .increment(1);
        tracing::debug!(
            callee = %shared.callee,
            path = parts.uri.path(),
            attempt,
            reason,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying a call"
        );
        drop(result);
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// A request body, read for replay or handed on as it is.
enum Replay {
    /// All of it.
    Whole(Bytes),
    /// Too large to keep: what was read, then the rest.
    Once(Body),
}

/// Reads `body` whole if it is at most [`MAX_REPLAYED_BYTES`].
async fn replayable(mut body: Body) -> Result<Replay, Status> {
    let mut read = Vec::new();
    let mut size = 0;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            // A gRPC request has no trailers; one that does is not replayed.
            continue;
        };
        size += data.len();
        read.push(data);
        if size > MAX_REPLAYED_BYTES {
            let head = tokio_stream::iter(
                read.into_iter()
                    .map(|data| Ok::<_, Status>(http_body::Frame::data(data))),
            );
            let rest = http_body_util::BodyStream::new(body);
            return Ok(Replay::Once(Body::new(http_body_util::StreamBody::new(
                tokio_stream::StreamExt::chain(head, rest),
            ))));
        }
    }
    Ok(Replay::Whole(match read.len() {
        1 => read.swap_remove(0),
        _ => read.concat().into(),
    }))
}

/// Why an attempt may be repeated, and the server's pushback.
struct Retryable {
    reason: &'static str,
    pushback: Option<Duration>,
    /// A refusal for overload (`RESOURCE_EXHAUSTED` with a pushback).
    overload: bool,
}

/// Whether the outcome of an attempt may be retried (see the [module](self) docs).
fn verdict(result: &Result<Response<Body>, BoxError>, idempotent: bool) -> Option<Retryable> {
    let response = match result {
        Err(error) if unprocessed(error.as_ref()) => {
            return Some(Retryable {
                reason: "unprocessed",
                pushback: None,
                overload: false,
            });
        }
        Err(_) if idempotent => {
            return Some(Retryable {
                reason: "transient",
                pushback: None,
                overload: false,
            });
        }
        Err(_) => return None,
        Ok(response) if response.extensions().get::<Throttled>().is_some() => return None,
        Ok(response) => response,
    };
    // Only a trailers-only answer has its status here; one with a body was processed.
    let code = rpc::status_in(response.headers())?;
    let refusal = matches!(code, rpc::UNAVAILABLE | rpc::RESOURCE_EXHAUSTED);
    let transient = refusal || code == rpc::ABORTED;
    match response.headers().get(PUSHBACK) {
        Some(value) => {
            // Negative or malformed: the server asks not to be retried.
            let millis: u64 = value.to_str().ok()?.parse().ok()?;
            (refusal || idempotent && transient).then_some(Retryable {
                reason: "refused",
                pushback: Some(Duration::from_millis(millis)),
                overload: code == rpc::RESOURCE_EXHAUSTED,
            })
        }
        None => (idempotent && transient).then_some(Retryable {
            reason: "transient",
            pushback: None,
            overload: false,
        }),
    }
}

/// Whether a failed attempt never reached the callee's handlers: no connection, or a
/// stream the server refused or that was never sent.
fn unprocessed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        if let Some(h2) = error.downcast_ref::<h2::Error>()
            && h2.reason() == Some(h2::Reason::REFUSED_STREAM)
        {
            return true;
        }
        if let Some(hyper) = error.downcast_ref::<hyper::Error>()
            && hyper.is_canceled()
        {
            return true;
        }
        source = error.source();
    }
    false
}

/// Whether the encoded unary request `frame` (a gRPC message frame: a flag, a length, the
/// message) has a non-empty length-delimited field number `field`. A compressed or
/// malformed frame has none.
fn carries_request_id(frame: &[u8], field: u32) -> bool {
    let Some((&0, rest)) = frame.split_first() else {
        return false;
    };
    let Some(mut message) = rest.get(4..) else {
        return false;
    };
    while !message.is_empty() {
        let Some(key) = varint(&mut message) else {
            return false;
        };
        let (number, wire_type) = (key >> 3, key & 7);
        let length = match wire_type {
            0 => match varint(&mut message) {
                Some(_) => 0,
                None => return false,
            },
            1 => 8,
            5 => 4,
            2 => match varint(&mut message).and_then(|n| usize::try_from(n).ok()) {
                Some(length) => {
                    if number == u64::from(field) {
                        return length > 0 && length <= message.len();
                    }
                    length
                }
                None => return false,
            },
            // Groups are not in our contract.
            _ => return false,
        };
        match message.get(length..) {
            Some(rest) => message = rest,
            None => return false,
        }
    }
    false
}

/// Reads one protobuf varint off the front of `bytes`.
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            *bytes = &bytes[index + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn frame(message: &impl Message) -> Vec<u8> {
        let body = message.encode_to_vec();
        let mut frame = vec![0];
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.extend_from_slice(&body);
        frame
    }

    #[test]
    fn a_request_id_is_found_whatever_comes_before_it() {
        use bazaar_contract::payment::v1::{ChargeRequest, GetChargeRequest};
        let with = ChargeRequest {
            request_id: "r-1".to_owned(),
            order_id: "o-1".to_owned(),
            ..Default::default()
        };
        assert!(carries_request_id(&frame(&with), 1));
        let without = ChargeRequest {
            order_id: "o-1".to_owned(),
            ..Default::default()
        };
        assert!(!carries_request_id(&frame(&without), 1));
        // Another field of the same number in another message is not a request id of
        // ours, but the table never asks about messages without one.
        let other = GetChargeRequest {
            charge_id: "c".to_owned(),
        };
        assert!(!carries_request_id(&frame(&other), 2));
        // Hand-made: a varint, a fixed64, a fixed32, then field 3 as a string.
        let mut message = vec![0x08, 0x96, 0x01, 0x11];
        message.extend_from_slice(&[0; 8]);
        message.push(0x15);
        message.extend_from_slice(&[0; 4]);
        message.extend_from_slice(&[0x1a, 2, b'i', b'd']);
        let mut framed = vec![0, 0, 0, 0, message.len() as u8];
        framed.extend_from_slice(&message);
        assert!(carries_request_id(&framed, 3));
        assert!(!carries_request_id(&framed, 4));
    }

    #[test]
    fn compressed_truncated_or_garbled_frames_carry_no_request_id() {
        assert!(!carries_request_id(&[], 1));
        assert!(!carries_request_id(&[1, 0, 0, 0, 3, 0x0a, 1, b'x'], 1));
        assert!(!carries_request_id(&[0, 0, 0, 0, 3, 0x0a, 5, b'x'], 1));
        assert!(!carries_request_id(&[0, 0, 0, 0, 2, 0xff, 0xff], 1));
        assert!(!carries_request_id(&[0, 0, 0, 0, 1, 0x0b], 1));
        assert!(carries_request_id(&[0, 0, 0, 0, 3, 0x0a, 1, b'x'], 1));
    }

    fn answer(status: Status) -> Result<Response<Body>, BoxError> {
        Ok(status.into_http())
    }

    fn reason(result: &Result<Response<Body>, BoxError>, idempotent: bool) -> Option<&'static str> {
        verdict(result, idempotent).map(|retryable| retryable.reason)
    }

    #[test]
    fn only_unprocessed_calls_and_transient_failures_of_keyed_calls_are_retried() {
        let pushed = refused(Status::unavailable("draining"), Duration::from_millis(30));
        let verdict_of_pushed = verdict(&answer(pushed.clone()), false).expect("retryable");
        assert_eq!(verdict_of_pushed.reason, "refused");
        assert_eq!(verdict_of_pushed.pushback, Some(Duration::from_millis(30)));
        let exhausted = refused(Status::resource_exhausted("limit"), Duration::ZERO);
        assert_eq!(reason(&answer(exhausted), false), Some("refused"));

        // Processed, or maybe processed: only with a request id.
        for status in [
            Status::unavailable("down"),
            Status::resource_exhausted("quota"),
            Status::aborted("in progress"),
        ] {
            assert_eq!(reason(&answer(status.clone()), false), None);
            assert_eq!(reason(&answer(status), true), Some("transient"));
        }
        // Never.
        for status in [
            Status::invalid_argument("bad"),
            Status::not_found("no"),
            Status::permission_denied("no"),
            Status::deadline_exceeded("late"),
            Status::internal("bug"),
            Status::failed_precondition("state"),
        ] {
            assert_eq!(reason(&answer(status.clone()), false), None);
            assert_eq!(reason(&answer(status), true), None);
        }
        // A negative or malformed pushback forbids the retry.
        for value in ["-1", "soon", ""] {
            let mut status = Status::unavailable("go away");
            status
                .metadata_mut()
                .insert(PUSHBACK, value.parse().expect("ASCII"));
            assert_eq!(reason(&answer(status.clone()), false), None);
            assert_eq!(reason(&answer(status), true), None);
        }
        // A connection that could not be made; a transport failure mid-call.
        let connect: BoxError = Box::new(tonic::ConnectError(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))));
        assert_eq!(reason(&Err(connect), false), Some("unprocessed"));
        let reset: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(reason(&Err(reset), false), None);
        let reset: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(reason(&Err(reset), true), Some("transient"));
        let refused_stream: BoxError = Box::new(h2::Error::from(h2::Reason::REFUSED_STREAM));
        assert_eq!(reason(&Err(refused_stream), false), Some("unprocessed"));
        // A success.
        assert_eq!(reason(&Ok(Response::new(Body::empty())), true), None);
    }
}
