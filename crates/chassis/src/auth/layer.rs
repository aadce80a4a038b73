//! The two tower layers of caller identity.
//!
//! On a server, [`AuthLayer`] reads `authorization: Bearer <token>` on every call, verifies
//! it and leaves the result in the request's extensions for [`caller`]; a valid header is also
//! kept in a task-local for the duration of the call. On a client, [`PropagateAuthLayer`]
//! copies that header onto every outbound call made while handling the inbound one, so a
//! service calls another on its caller's behalf without passing the token around by hand.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::Either;
use http::{HeaderValue, Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use super::{AUTHORIZATION, Caller, TokenError, Verifier, bearer_token};

/// What [`AuthLayer`] found about the caller of a call.
#[derive(Clone, Debug)]
pub enum Authentication {
    /// A valid token.
    Verified(Caller),
    /// A token that was refused, and why.
    Refused(TokenError),
}

/// The caller of a user-scoped call, or `UNAUTHENTICATED`.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Verified(caller)) => Ok(caller.clone()),
        Some(Authentication::Refused(TokenError::KeysUnavailable)) => {
            Err(keys_unavailable(TokenError::KeysUnavailable.to_string()))
        }
        Some(Authentication::Refused(error)) => Err(Status::unauthenticated(error.to_string())),
        None => Err(Status::unauthenticated(TokenError::Missing.to_string())),
    }
}

/// The answer to a token that cannot be checked because identity's keys cannot be had:
/// `UNAVAILABLE`, with a pushback so that the caller's chassis retries it (nothing was done).
pub(super) fn keys_unavailable(message: String) -> Status {
    crate::retry::refused(Status::unavailable(message), KEYS_PUSHBACK)
}

/// How long a caller whose token cannot be checked yet is asked to wait.
const KEYS_PUSHBACK: std::time::Duration = std::time::Duration::from_millis(500);

tokio::task_local! {
    static CALLER_AUTHORIZATION: HeaderValue;
}

/// The `authorization` value of the inbound call being handled, if it had a valid one.
pub fn current_authorization() -> Option<HeaderValue> {
    CALLER_AUTHORIZATION.try_with(Clone::clone).ok()
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Server-side layer: verifies the token of every call that carries one.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B, ResBody> Service<Request<B>> for Auth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<Result<Response<ResBody>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // A call without a token goes straight on, at no cost.
        let Some(header) = request.headers().get(AUTHORIZATION).cloned() else {
            return Either::Left(self.inner.call(request));
        };
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Either::Right(Box::pin(async move {
            let token = header
                .to_str()
                .map_err(|_| TokenError::Malformed)
                .and_then(bearer_token);
            let outcome = match token {
                Ok(token) => verifier.verify(token).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(caller) => {
                    request
                        .extensions_mut()
                        .insert(Authentication::Verified(caller));
                    CALLER_AUTHORIZATION
                        .scope(header, inner.call(request))
                        .await
                }
                Err(error) => {
                    tracing::debug!(%error, "token refused");
                    request
                        .extensions_mut()
                        .insert(Authentication::Refused(error));
                    inner.call(request).await
                }
            }
        }))
    }
}

/// Client-side layer: an outbound call made while handling an authenticated call carries
/// the caller's `authorization`, unless it sets its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct PropagateAuthLayer;

impl<S> Layer<S> for PropagateAuthLayer {
    type Service = PropagateAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateAuth { inner }
    }
}

/// See [`PropagateAuthLayer`].
#[derive(Clone, Debug)]
pub struct PropagateAuth<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for PropagateAuth<S>
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
        if !request.headers().contains_key(AUTHORIZATION)
            && let Some(value) = current_authorization()
        {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.inner.call(request)
    }
}
