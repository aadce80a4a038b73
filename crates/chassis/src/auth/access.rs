//! Who may call what, enforced: the contract's table of access rules applied to every call.
//!
//! [`AccessLayer`] sits on every server just inside [`super::AuthLayer`], so it sees the
//! verified token ([`Authentication`]) and the connection's [`Peer`], and answers before any
//! handler runs. The rules themselves live in one place, `bazaar_contract::access`; this
//! module only compares what the caller showed with what the rule of the called path asks:
//!
//! - no rule for the path: `PERMISSION_DENIED` (deny by default);
//! - nothing shown that could satisfy the rule (no token, or a refused one, where a token
//!   is what the rule takes; neither a token nor a certificate of the shop where it takes
//!   either): `UNAUTHENTICATED`;
//! - a token that cannot be checked because identity's keys cannot be fetched:
//!   `UNAVAILABLE` (see [`super::Verifier`]);
//! - a credential of the wrong kind or the wrong identity (a guest on an admin RPC, a user
//!   token on an internal one, the cart service calling `payment.Charge`):
//!   `PERMISSION_DENIED`.
//!
//! Every refusal names what the rule requires. [`Peer::Unverified`] (a server run with
//! plaintext, where no identity can be known) satisfies the internal part of a rule, as the
//! plaintext flag warns. Handlers keep their own checks: a user RPC still scopes to the
//! caller's own resources.

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use bazaar_contract::access::Rule;
use futures_util::future::Either;
use http::{Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use super::{Authentication, CallerKind, Peer, TokenError};

/// Whether the caller of `path`, with `authentication` (what [`super::AuthLayer`] found,
/// `None` when no token was sent or the service checks none) over a connection from
/// `peer`, may call it; the refusal otherwise. See the [module](self) docs.
pub fn check(
    path: &str,
    authentication: Option<&Authentication>,
    peer: &Peer,
) -> Result<(), Status> {
    let Some(rule) = crate::rpc::Methods::get().rule_of(path) else {
        return Err(Status::permission_denied(format!(
            "{path} is not a method this server knows an access rule for"
        )));
    };
    check_rule(path, rule, authentication, peer)
}

/// [`check`] against a given rule.
pub fn check_rule(
    path: &str,
    rule: &Rule,
    authentication: Option<&Authentication>,
    peer: &Peer,
) -> Result<(), Status> {
    if rule.public {
        return Ok(());
    }
    match peer {
        Peer::Service(name) if rule.services.iter().any(|s| s == name) => return Ok(()),
        Peer::Operator(_) if rule.operator => return Ok(()),
        Peer::Unverified if !rule.services.is_empty() => return Ok(()),
        _ => {}
    }
    let token = match authentication {
        Some(Authentication::Verified(caller)) => {
            if rule.user || (rule.admin && caller.is_admin()) {
                return Ok(());
            }
            Ok(caller)
        }
        Some(Authentication::Refused(error)) => Err(error.clone()),
        None => Err(TokenError::Missing),
    };
    let required = rule.describe();
    let shown_certificate = matches!(peer, Peer::Service(_) | Peer::Operator(_));
    match token {
        // A token that may be valid, which cannot be checked until identity's keys can be
        // had: not the caller's fault.
        Err(TokenError::KeysUnavailable) if rule.takes_tokens() => {
            Err(super::layer::keys_unavailable(format!(
                "{path} requires {required}: {}",
                TokenError::KeysUnavailable
            )))
        }
        // A valid token that is not enough: a guest or a user where an admin or a service
        // is required.
        Ok(caller) => Err(Status::permission_denied(format!(
            "{path} requires {required}; the token of {} {} is not enough",
            match caller.kind {
                CallerKind::User => "user",
                CallerKind::Guest => "guest",
            },
            caller.user_id
        ))),
        // A token that was refused: authenticate again, whatever the connection shows.
        Err(error) if rule.takes_tokens() && !matches!(error, TokenError::Missing) => Err(
            Status::unauthenticated(format!("{path} requires {required}: {error}")),
        ),
        // A certificate of the shop that the rule does not accept, and no token that could
        // make up for it.
        Err(_) if shown_certificate && rule.takes_certificates() => {
            Err(Status::permission_denied(format!(
                "{path} requires {required}; {} may not call it",
                describe_peer(peer)
            )))
        }
        Err(error) if rule.takes_tokens() => Err(Status::unauthenticated(format!(
            "{path} requires {required}: {error}"
        ))),
        Err(_) => Err(Status::unauthenticated(format!(
            "{path} requires {required}: the connection presented no certificate of the shop"
        ))),
    }
}

fn describe_peer(peer: &Peer) -> String {
    match peer {
        Peer::Service(name) => format!("the {name} service"),
        Peer::Operator(name) => format!("operator {name}"),
        Peer::Anonymous => "a caller without a certificate".to_owned(),
        Peer::Unverified => "an unverified caller".to_owned(),
    }
}

/// Server-side layer: applies the access rule of the called path to every call. Goes
/// inside [`super::AuthLayer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLayer;

impl<S> Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Access { inner }
    }
}

/// See [`AccessLayer`].
#[derive(Clone, Debug)]
pub struct Access<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for Access<S>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response<ResBody>, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let decided = check(
            request.uri().path(),
            request.extensions().get::<Authentication>(),
            // As `super::peer` reads it, without the copy.
            request
                .extensions()
                .get::<Peer>()
                .unwrap_or(&Peer::Anonymous),
        );
        match decided {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(status) => {
                tracing::info!(
                    path = request.uri().path(),
                    code = ?status.code(),
                    reason = status.message(),
                    "call refused"
                );
                Either::Right(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests;
