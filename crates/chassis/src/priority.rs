//! Which calls go first when a process is at its limit: work already accepted before new
//! work.
//!
//! A call is either new work (a shopper's request, the default) or a *continuation*: it
//! finishes work the shop has already accepted (a checkout saga driven in the background
//! after `PlaceOrder` answered, its recovery after a restart, a consumer of the order event
//! stream). Refusing a continuation under overload wastes the work already done and leaves
//! the saga to retry; refusing new work only asks a shopper to come back. So the
//! concurrency limit ([`crate::limit`]) admits continuations up to the whole limit and new
//! work only up to a share of it.
//!
//! The priority travels like the deadline does:
//!
//! - inside a process, as a task-local scope: [`continuation`] wraps a future (a spawned
//!   saga drive, a consumer loop) and every outbound call made while it runs is marked;
//! - between processes, as the metadata `bazaar-priority: continuation`, set by
//!   [`PriorityLayer`] on the client stack and read by the server's limit, which runs the
//!   handler inside the scope of the priority it admitted the call with, so the callee's
//!   own outbound calls inherit it.
//!
//! The mark is believed only from a caller that cannot be a shopper: a peer with a verified
//! service certificate ([`Peer::Service`]), or any caller of a process run `--plaintext`
//! (where nobody's identity is known and the shop is on a trusted network by choice). From
//! anyone else (an operator's tool, an anonymous client, a user with a token) the header is
//! ignored: a client cannot jump the queue by writing one line of metadata.

use std::future::Future;
use std::task::{Context, Poll};

use http::{HeaderValue, Request};
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::auth::Peer;

/// The metadata key that carries the priority of a call.
pub const HEADER: &str = "bazaar-priority";
/// The one value of [`HEADER`] that means anything: the call continues accepted work.
pub const CONTINUATION: &str = "continuation";

/// How urgent a call is for the shop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    /// A new request: refused first when the process is busy.
    #[default]
    New,
    /// Work already accepted (saga continuations, event consumers): admitted up to the
    /// whole limit.
    Continuation,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// The priority of the code running now: the innermost [`scope`], or [`Priority::New`].
pub fn current() -> Priority {
    PRIORITY.try_with(|priority| *priority).unwrap_or_default()
}

/// Runs `future` with `priority`: outbound calls it makes carry it.
pub fn scope<F: Future>(priority: Priority, future: F) -> TaskLocalFuture<Priority, F> {
    PRIORITY.scope(priority, future)
}

/// Runs `future` as a continuation of accepted work: wrap a spawned saga drive or an event
/// consumer in it.
pub fn continuation<F: Future>(future: F) -> TaskLocalFuture<Priority, F> {
    scope(Priority::Continuation, future)
}

/// The priority an inbound call may have: what its metadata asks for, believed only from
/// a service peer or in plaintext (see the [module](self) docs).
pub fn of_call(headers: &http::HeaderMap, peer: Option<&Peer>) -> Priority {
    let trusted = matches!(peer, Some(Peer::Service(_) | Peer::Unverified));
    if trusted
        && headers
            .get(HEADER)
            .is_some_and(|value| value.as_bytes() == CONTINUATION.as_bytes())
    {
        Priority::Continuation
    } else {
        Priority::New
    }
}

/// Client layer that marks calls made inside a [`continuation`] scope with
/// `bazaar-priority: continuation`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PriorityLayer;

impl<S> Layer<S> for PriorityLayer {
    type Service = SetPriority<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetPriority { inner }
    }
}

/// See [`PriorityLayer`].
#[derive(Clone, Debug)]
pub struct SetPriority<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for SetPriority<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // Whatever the caller's code wrote is replaced: only the scope decides.
        let headers = request.headers_mut();
        match current() {
            Priority::Continuation => {
                headers.insert(HEADER, HeaderValue::from_static(CONTINUATION));
            }
            Priority::New => {
                headers.remove(HEADER);
            }
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked() -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static(CONTINUATION));
        headers
    }

    #[test]
    fn the_mark_is_believed_only_from_services_and_in_plaintext() {
        let service = Peer::Service("orders".into());
        assert_eq!(of_call(&marked(), Some(&service)), Priority::Continuation);
        assert_eq!(
            of_call(&marked(), Some(&Peer::Unverified)),
            Priority::Continuation
        );
        for stranger in [Peer::Anonymous, Peer::Operator("ops".into())] {
            assert_eq!(of_call(&marked(), Some(&stranger)), Priority::New);
        }
        assert_eq!(of_call(&marked(), None), Priority::New);
        assert_eq!(
            of_call(&http::HeaderMap::new(), Some(&service)),
            Priority::New
        );
        let mut other = http::HeaderMap::new();
        other.insert(HEADER, HeaderValue::from_static("urgent"));
        assert_eq!(of_call(&other, Some(&service)), Priority::New);
    }

    #[tokio::test]
    async fn the_scope_is_seen_inside_and_not_outside() {
        assert_eq!(current(), Priority::New);
        assert_eq!(
            continuation(async { current() }).await,
            Priority::Continuation
        );
        let nested = continuation(scope(Priority::New, async { current() })).await;
        assert_eq!(nested, Priority::New);
        assert_eq!(current(), Priority::New);
    }

    #[tokio::test]
    async fn calls_in_the_scope_carry_the_mark_and_others_do_not() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let inner = tower::service_fn(move |request: Request<()>| {
            record
                .lock()
                .unwrap()
                .push(request.headers().get(HEADER).cloned());
            std::future::ready(Ok::<_, std::convert::Infallible>(()))
        });
        let mut client = PriorityLayer.layer(inner);
        let forged = || {
            let mut request = Request::new(());
            request
                .headers_mut()
                .insert(HEADER, HeaderValue::from_static(CONTINUATION));
            request
        };
        client.call(forged()).await.unwrap();
        // The mark is set when the call is made, so the call is made inside the scope.
        continuation(async { client.call(Request::new(())).await })
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![None, Some(HeaderValue::from_static(CONTINUATION))]
        );
    }
}
