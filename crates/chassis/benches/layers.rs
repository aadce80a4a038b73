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
//! Each run times `--calls` calls of the bare service and then of every stack, one after
//! the other on one thread; a row is the median over `--runs` runs of what the stack took
//! a call beyond the bare service in the same run. A user's token is the same on every call, as a
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
        let whole = || {
            ServiceBuilder::new()
                .layer(ServerMetricsLayer::new())
                .layer(ConcurrencyLimitLayer::new(1024, false))
                .layer(InboundDeadlineLayer)
                .layer(AuthLayer::new(verifier.clone()))
                .layer(AccessLayer)
                .service_fn(answer)
        };
        let mut bare = tower::service_fn(answer);
        let mut metrics = ServiceBuilder::new()
            .layer(ServerMetricsLayer::new())
            .service_fn(answer);
        let mut ceiling = ServiceBuilder::new()
            .layer(ConcurrencyLimitLayer::new(1024, false))
            .service_fn(answer);
        let mut adaptive = ServiceBuilder::new()
            .layer(ConcurrencyLimitLayer::new(1024, true))
            .service_fn(answer);
        let mut deadline = ServiceBuilder::new()
            .layer(InboundDeadlineLayer)
            .service_fn(answer);
        let mut auth = ServiceBuilder::new()
            .layer(AuthLayer::new(verifier.clone()))
            .service_fn(answer);
        let mut access = ServiceBuilder::new().layer(AccessLayer).service_fn(answer);
        let (mut stack, mut stack_user) = (whole(), whole());
        let names = [
            "metrics (RED, Prometheus recorder)",
            "in-flight ceiling",
            "adaptive limit (--adaptive-limit)",
            "inbound deadline (grpc-timeout)",
            "auth, call without a token",
            "auth, a user's token (remembered)",
            "access rule (service certificate)",
            "whole stack, service call",
            "whole stack, with a user's token",
        ];
        // Every run times the bare service and then each stack, back to back, so that each
        // difference is taken on the machine as it was at that moment; the first run warms
        // caches and the recorder's handles and is not counted.
        let mut bares = Vec::with_capacity(runs);
        let mut added: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); names.len()];
        for run in 0..=runs {
            let base = time(&mut bare, &anonymous, calls).await;
            let each = [
                time(&mut metrics, &anonymous, calls).await,
                time(&mut ceiling, &anonymous, calls).await,
                time(&mut adaptive, &anonymous, calls).await,
                time(&mut deadline, &anonymous, calls).await,
                time(&mut auth, &anonymous, calls).await,
                time(&mut auth, &user, calls).await,
                time(&mut access, &anonymous, calls).await,
                time(&mut stack, &anonymous, calls).await,
                time(&mut stack_user, &user, calls).await,
            ];
            if run == 0 {
                continue;
            }
            bares.push(base);
            for (row, ns) in added.iter_mut().zip(each) {
                row.push(ns - base);
            }
        }

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

        println!(
            "chassis server layers, {calls} calls x {runs} runs, medians, one thread \
             (release)"
        );
        println!("{:<38} {:>10}", "stack", "ns a call");
        println!(
            "{:<38} {:>10.0} (itself; the rows below are what each adds)",
            "bare service",
            support::median(&mut bares)
        );
        for (name, mut row) in names.into_iter().zip(added) {
            println!("{name:<38} {:>+10.0}", support::median(&mut row));
        }
        println!(
            "a token's first verification (Ed25519; then remembered): {:.0} ns",
            support::median(&mut each)
        );
    });
}
