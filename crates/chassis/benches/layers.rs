//! What each layer of the chassis's server stack costs one call, in nanoseconds: every
//! layer alone around the same trivial service, then the whole stack as `chassis::server`
//! builds it, each against the bare service measured in the same run.
//!
//! A call here is what the stack sees of a gRPC call once hyper has parsed it: an
//! `http::Request` for `/bazaar.payment.v1.PaymentService/Charge` from the orders service's
//! certificate, and the service's trailers-only OK answer, whose body is read to its end
//! (where the metrics layer finishes its count). No socket, TLS or HTTP/2 framing is
//! measured: those are the leaf bench's (`cargo bench -p currency --bench leaf`). The
//! metrics layer records into the real Prometheus recorder, as in a running service.
//!
//! ```text
//! cargo bench -p chassis --features testing --bench layers -- [--calls 200000] [--runs 5]
//! ```
//!
//! Each row is the median of `--runs` runs of `--calls` calls on one thread; "added" is
//! that median less the bare service's. A user's token is the same on every call, as a
//! shopper's is, so the auth rows show a remembered token; the last line is what its first
//! verification costs.

use std::convert::Infallible;
use std::time::Instant;

use chassis::auth::testing::TestIssuer;
use chassis::auth::{AccessLayer, AuthLayer, Peer};
use chassis::deadline::InboundDeadlineLayer;
use chassis::limit::ConcurrencyLimitLayer;
use chassis::metrics::ServerMetricsLayer;
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use tonic::body::Body;
use tower::{Service, ServiceBuilder, ServiceExt};

#[path = "../../../benches/support/mod.rs"]
mod support;

const USAGE: &str =
    "cargo bench -p chassis --features testing --bench layers -- [--calls N] [--runs N]";
/// A method the access table gives to one service (orders), as most internal calls are.
const PATH: &str = "/bazaar.payment.v1.PaymentService/Charge";

/// The service every stack wraps: answers OK, trailers-only, at once.
async fn answer(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut response = Response::new(Body::default());
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from_static("0"));
    Ok(response)
}

/// What a call carries.
#[derive(Clone)]
struct Call {
    /// `authorization`, when the call carries a user's token.
    bearer: Option<HeaderValue>,
}

impl Call {
    fn request(&self) -> Request<Body> {
        let mut request = Request::builder()
            .method("POST")
            .uri(PATH)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("grpc-timeout", "2000m")
            .body(Body::default())
            .expect("a valid request");
        if let Some(bearer) = &self.bearer {
            request
                .headers_mut()
                .insert("authorization", bearer.clone());
        }
        request
            .extensions_mut()
            .insert(Peer::Service("orders".into()));
        request
    }
}

/// Nanoseconds per call of `service` over `calls` calls, each answered and its body read.
async fn time<S, B>(service: &mut S, call: &Call, calls: usize) -> f64
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let began = Instant::now();
    for _ in 0..calls {
        let response = service
            .ready()
            .await
            .expect("ready")
            .call(call.request())
            .await
            .expect("answered");
        assert_eq!(
            response.headers()["grpc-status"],
            "0",
            "the call was refused"
        );
        response.into_body().collect().await.expect("the body ends");
    }
    began.elapsed().as_secs_f64() * 1e9 / calls as f64
}

/// The median over `runs` of [`time`].
async fn median<S, B>(mut service: S, call: &Call, calls: usize, runs: usize) -> f64
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    // A first round warms caches and the recorder's handles.
    time(&mut service, call, calls / 10 + 1).await;
    let mut each = Vec::with_capacity(runs);
    for _ in 0..runs {
        each.push(time(&mut service, call, calls).await);
    }
    support::median(&mut each)
}

fn main() {
    let (mut calls, mut runs) = (200_000, 5);
    support::parse(USAGE, |flag, flags| {
        match flag {
            "--calls" => calls = flags.positive(flag)?,
            "--runs" => runs = flags.positive(flag)?,
            other => return Err(format!("unknown flag {other}")),
        }
        Ok(())
    });
    chassis::metrics::install();
    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    let anonymous = Call { bearer: None };
    let user = Call {
        bearer: Some(HeaderValue::from_str(&issuer.bearer("shopper-1")).expect("a header")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let bare = median(tower::service_fn(answer), &anonymous, calls, runs).await;
        let mut rows: Vec<(&str, f64)> = Vec::new();
        macro_rules! row {
            ($name:expr, $call:expr, $stack:expr) => {
                rows.push((
                    $name,
                    median($stack.service_fn(answer), $call, calls, runs).await,
                ));
            };
        }
        row!(
            "metrics (RED, Prometheus recorder)",
            &anonymous,
            ServiceBuilder::new().layer(ServerMetricsLayer::new())
        );
        row!(
            "in-flight ceiling",
            &anonymous,
            ServiceBuilder::new().layer(ConcurrencyLimitLayer::new(1024, false))
        );
        row!(
            "adaptive limit (--adaptive-limit)",
            &anonymous,
            ServiceBuilder::new().layer(ConcurrencyLimitLayer::new(1024, true))
        );
        row!(
            "inbound deadline (grpc-timeout)",
            &anonymous,
            ServiceBuilder::new().layer(InboundDeadlineLayer)
        );
        row!(
            "auth, call without a token",
            &anonymous,
            ServiceBuilder::new().layer(AuthLayer::new(verifier.clone()))
        );
        row!(
            "auth, a user's token (Ed25519)",
            &user,
            ServiceBuilder::new().layer(AuthLayer::new(verifier.clone()))
        );
        row!(
            "access rule (service certificate)",
            &anonymous,
            ServiceBuilder::new().layer(AccessLayer)
        );
        row!(
            "whole stack, service call",
            &anonymous,
            ServiceBuilder::new()
                .layer(ServerMetricsLayer::new())
                .layer(ConcurrencyLimitLayer::new(1024, false))
                .layer(InboundDeadlineLayer)
                .layer(AuthLayer::new(verifier.clone()))
                .layer(AccessLayer)
        );
        row!(
            "whole stack, with a user's token",
            &user,
            ServiceBuilder::new()
                .layer(ServerMetricsLayer::new())
                .layer(ConcurrencyLimitLayer::new(1024, false))
                .layer(InboundDeadlineLayer)
                .layer(AuthLayer::new(verifier.clone()))
                .layer(AccessLayer)
        );
        // A token seen for the first time: its Ed25519 signature checked (a verifier of
        // its own each time, remembering nothing).
        let token = issuer.token(&issuer.claims("shopper-1"));
        let fresh = calls / 20 + 1;
        let mut each = Vec::with_capacity(runs);
        for _ in 0..runs {
            let began = Instant::now();
            for _ in 0..fresh {
                issuer
                    .verifier()
                    .verify(&token)
                    .await
                    .expect("a valid token");
            }
            each.push(began.elapsed().as_secs_f64() * 1e9 / fresh as f64);
        }
        let first_sight = support::median(&mut each);
        println!(
            "chassis server layers, {calls} calls x {runs} runs, medians, one thread \
             (release)"
        );
        println!("{:<38} {:>10} {:>10}", "stack", "ns/call", "added");
        println!("{:<38} {:>10.0} {:>10}", "bare service", bare, "-");
        for (name, ns) in rows {
            println!("{name:<38} {ns:>10.0} {:>10.0}", ns - bare);
        }
        println!("a token's first verification (Ed25519, then remembered): {first_sight:.0} ns");
    });
}
