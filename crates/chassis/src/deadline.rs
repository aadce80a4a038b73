//! Deadlines: honoured on the way in, carried on the way out.
//!
//! gRPC sends a call's remaining time in the `grpc-timeout` header. tonic neither carries it
//! to the calls a handler makes nor answers an expired one with the right code, so the chassis
//! does both here:
//!
//! - [`InboundDeadlineLayer`] (server side) turns the header into an absolute deadline, runs
//!   the handler with that deadline in a task-local, and answers `DEADLINE_EXCEEDED` when the
//!   time is up;
//! - [`OutboundDeadlineLayer`] (client side) gives every outbound call the inbound call's
//!   remaining time, or a default when there is no inbound call, and fails it with
//!   `DEADLINE_EXCEEDED` when that time is up — a downstream service never works longer for a
//!   caller than the caller is willing to wait.
//!
//! Time is read from `tokio::time`, so tests can pause and advance it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use tokio::time::Instant;
use tonic::Status;
use tower::{Layer, Service};

/// The header gRPC uses to send a call's remaining time.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The deadline of the inbound call being handled on this task, if it has one.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// Runs `future` as if it were handling an inbound call with the given deadline. Servers do
/// this through [`InboundDeadlineLayer`]; it is public for background work that acts on
/// behalf of a call, and for tests.
pub async fn scope<F: Future>(deadline: Instant, future: F) -> F::Output {
    DEADLINE.scope(deadline, future).await
}

/// Parses a `grpc-timeout` value: at most eight digits and a unit (`H`, `M`, `S`, `m`, `u`,
/// `n`). Anything else is `None`, and the call is treated as having no deadline, as the gRPC
/// specification asks.
pub fn parse_timeout(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?;
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Encodes a duration as a `grpc-timeout` value, in the finest unit that fits eight digits.
pub fn encode_timeout(timeout: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    let (amount, unit) = if nanos <= MAX {
        (nanos, "n")
    } else if timeout.as_micros() <= MAX {
        (timeout.as_micros(), "u")
    } else if timeout.as_millis() <= MAX {
        (timeout.as_millis(), "m")
    } else if u128::from(timeout.as_secs()) <= MAX {
        (u128::from(timeout.as_secs()), "S")
    } else {
        ((u128::from(timeout.as_secs()) / 3600).min(MAX), "H")
    };
    HeaderValue::try_from(format!("{amount}{unit}"))
        .expect("digits and an ASCII unit always make a valid header value")
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Server-side layer: enforces the caller's deadline and makes it visible to [`current`].
#[derive(Clone, Copy, Debug, Default)]
pub struct InboundDeadlineLayer;

impl<S> Layer<S> for InboundDeadlineLayer {
    type Service = InboundDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InboundDeadline { inner }
    }
}

/// See [`InboundDeadlineLayer`].
#[derive(Clone, Debug)]
pub struct InboundDeadline<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for InboundDeadline<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>, Error = Infallible>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Deadlined<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(timeout) = request.headers().get(GRPC_TIMEOUT).and_then(parse_timeout) else {
            return Deadlined {
                inner: self.inner.call(request),
                timer: None,
                deadline: None,
            };
        };
        let deadline = Instant::now() + timeout;
        let inner = DEADLINE.sync_scope(deadline, || self.inner.call(request));
        Deadlined {
            inner,
            timer: Some(tokio::time::sleep_until(deadline)),
            deadline: Some(deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a call under [`InboundDeadline`]: the handler's, polled with the
    /// deadline visible to [`current`], answered `DEADLINE_EXCEEDED` when the time is up.
    /// Named rather than boxed: it runs on every call.
    pub struct Deadlined<F> {
        #[pin]
        inner: F,
        // With the deadline, when the call has one.
        #[pin]
        timer: Option<tokio::time::Sleep>,
        deadline: Option<Instant>,
    }
}

impl<F, ResBody> Future for Deadlined<F>
where
    F: Future<Output = Result<Response<ResBody>, Infallible>>,
    ResBody: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let (Some(deadline), Some(timer)) = (*this.deadline, this.timer.as_pin_mut()) else {
            return this.inner.poll(cx);
        };
        let inner = this.inner;
        if let Poll::Ready(result) = DEADLINE.sync_scope(deadline, || inner.poll(cx)) {
            return Poll::Ready(result);
        }
        match timer.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(Status::deadline_exceeded(
                "the call's deadline passed",
            )
            .into_http())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Client-side layer: gives every outbound call a deadline and enforces it.
#[derive(Clone, Copy, Debug)]
pub struct OutboundDeadlineLayer {
    default: Duration,
}

impl OutboundDeadlineLayer {
    /// Calls made outside any inbound call get `default`.
    pub fn new(default: Duration) -> Self {
        Self { default }
    }
}

impl<S> Layer<S> for OutboundDeadlineLayer {
    type Service = OutboundDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OutboundDeadline {
            inner,
            default: self.default,
        }
    }
}

/// See [`OutboundDeadlineLayer`].
#[derive(Clone, Debug)]
pub struct OutboundDeadline<S> {
    inner: S,
    default: Duration,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OutboundDeadline<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let now = Instant::now();
        // The tightest of: the inbound call's deadline (or the default), and a timeout the
        // caller set on this very request.
        let mut deadline = current().unwrap_or(now + self.default);
        if let Some(own) = request.headers().get(GRPC_TIMEOUT).and_then(parse_timeout) {
            deadline = deadline.min(now + own);
        }
        let remaining = deadline.saturating_duration_since(now);
        if remaining.is_zero() {
            return Box::pin(std::future::ready(Ok(Status::deadline_exceeded(
                "the deadline passed before the call was sent",
            )
            .into_http())));
        }
        request
            .headers_mut()
            .insert(GRPC_TIMEOUT, encode_timeout(remaining));
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline, response).await {
                // tonic's channel enforces the same `grpc-timeout` and fails with its own
                // "timeout expired" error (which it reports as CANCELLED) at the same
                // instant: past the deadline, any failure is the deadline's.
                Err(_) => Ok(Status::deadline_exceeded("the call's deadline passed").into_http()),
                Ok(Err(_)) if Instant::now() >= deadline => {
                    Ok(Status::deadline_exceeded("the call's deadline passed").into_http())
                }
                Ok(result) => result,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(
            parse_timeout(&header("2H")),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(parse_timeout(&header("3M")), Some(Duration::from_secs(180)));
        assert_eq!(parse_timeout(&header("4S")), Some(Duration::from_secs(4)));
        assert_eq!(
            parse_timeout(&header("250m")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_timeout(&header("7u")), Some(Duration::from_micros(7)));
        assert_eq!(
            parse_timeout(&header("99999999n")),
            Some(Duration::from_nanos(99_999_999))
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in ["", "S", "10", "10x", "-1S", "123456789S", "1.5S", " 1S"] {
            assert_eq!(parse_timeout(&header(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn encoding_round_trips_within_unit_precision() {
        for duration in [
            Duration::from_nanos(5),
            Duration::from_millis(1_500),
            Duration::from_secs(90),
            Duration::from_secs(200_000_000),
        ] {
            let encoded = encode_timeout(duration);
            assert!(encoded.len() <= 9, "{encoded:?}");
            let back = parse_timeout(&encoded).unwrap();
            assert!(back <= duration, "{encoded:?}");
            assert!(duration - back < Duration::from_secs(3600), "{encoded:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_answers_an_expired_deadline_with_deadline_exceeded() {
        use tower::ServiceExt;
        let slow = tower::service_fn(|_request: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, Infallible>(Response::new(()))
        });
        let service = InboundDeadlineLayer.layer(slow);
        let request = Request::builder()
            .header(GRPC_TIMEOUT, "100m")
            .body(())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        let status = Status::from_header_map(response.headers()).expect("a gRPC status");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_without_grpc_timeout_has_no_deadline() {
        use tower::ServiceExt;
        let probe = tower::service_fn(|_request: Request<()>| async {
            Ok::<_, Infallible>(Response::new(current().is_some()))
        });
        let response = InboundDeadlineLayer
            .layer(probe)
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert!(!response.into_body());
    }

    #[tokio::test(start_paused = true)]
    async fn current_is_visible_only_inside_a_scope() {
        assert_eq!(current(), None);
        let deadline = Instant::now() + Duration::from_secs(3);
        scope(
            deadline,
            async move { assert_eq!(current(), Some(deadline)) },
        )
        .await;
        assert_eq!(current(), None);
    }
}
