//! Retries, their budget and outlier ejection of `chassis::client::Upstream`, through real
//! gRPC on real sockets with the test PKI: probe servers (see `common`), and a ledger (the
//! contract's payment service, whose `Charge` carries a `request_id` and `GetCharge` does
//! not) that answers as the test tells it and records every attempt that reaches it.
//!
//! Counts come from what the servers saw, or from this process's own metrics where nothing
//! can be seen (a server that is stopped). Each test labels its upstream with a callee of its
//! own, so tests running side by side do not move each other's series. Nothing here asserts
//! that something took less than some time; timeouts around awaits are safety nets.

mod common;
// The scrape every test of the shop uses (`chassis::testing::metrics`), compiled into this
// test, which runs without the `testing` feature.
#[path = "../src/testing/metrics.rs"]
#[allow(unreachable_pub, dead_code)]
mod metrics_page;
/// The parser `metrics_page` reads the text with, where it looks for it.
mod scrape {
    pub(crate) use chassis::scrape::*;
}

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::payment_service_server::{PaymentService, PaymentServiceServer};
use bazaar_contract::payment::v1::{
    ChargeRequest, ChargeResponse, GetChargeRequest, GetChargeResponse, ListChargesRequest,
    ListChargesResponse, RefundRequest, RefundResponse,
};
use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use chassis::client::Upstream;
use chassis::retry::{MAX_ATTEMPTS, RETRIES_PER_SEC, RETRY_RATIO};
use chassis::{Server, ServerArgs, Shutdown};
use common::{PATIENCE, bind, call, client_tls};
use metrics_page::Scrape;
use tokio::time::Instant;
use tonic::{Code, Request, Response, Status};

/// How the ledger answers.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Every call succeeds.
    Ok,
    /// Every call succeeds, after this long.
    Slow(Duration),
    /// `UNAVAILABLE`, without a pushback: the call may have been processed.
    Unavailable,
    /// `INVALID_ARGUMENT`.
    Invalid,
    /// The first call `UNAVAILABLE`, every later one only after this long.
    FailThenStall(Duration),
}

/// One call as it reached the ledger.
#[derive(Clone, Debug)]
struct Arrival {
    method: &'static str,
    at: Instant,
    grpc_timeout: Option<Duration>,
}

#[derive(Clone)]
struct Ledger {
    answer: Arc<Mutex<Answer>>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl Ledger {
    async fn arrive<T>(&self, method: &'static str, request: &Request<T>) -> Result<(), Status> {
        let grpc_timeout = request
            .metadata()
            .get(chassis::deadline::GRPC_TIMEOUT)
            .and_then(|value| http::HeaderValue::from_bytes(value.as_bytes()).ok())
            .and_then(|value| chassis::deadline::parse_timeout(&value));
        let count = {
            let mut arrivals = self.arrivals.lock().expect("not poisoned");
            arrivals.push(Arrival {
                method,
                at: Instant::now(),
                grpc_timeout,
            });
            arrivals.len()
        };
        let answer = *self.answer.lock().expect("not poisoned");
        match answer {
            Answer::Ok => Ok(()),
            Answer::Slow(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
            Answer::Unavailable => Err(Status::unavailable("the ledger is down")),
            Answer::Invalid => Err(Status::invalid_argument("no such card")),
            Answer::FailThenStall(_) if count == 1 => {
                Err(Status::unavailable("the ledger is down"))
            }
            Answer::FailThenStall(stall) => {
                tokio::time::sleep(stall).await;
                Ok(())
            }
        }
    }
}

#[tonic::async_trait]
impl PaymentService for Ledger {
    async fn charge(
        &self,
        request: Request<ChargeRequest>,
    ) -> Result<Response<ChargeResponse>, Status> {
        self.arrive("Charge", &request).await?;
        Ok(Response::new(ChargeResponse::default()))
    }

    async fn refund(
        &self,
        request: Request<RefundRequest>,
    ) -> Result<Response<RefundResponse>, Status> {
        self.arrive("Refund", &request).await?;
        Ok(Response::new(RefundResponse::default()))
    }

    async fn get_charge(
        &self,
        request: Request<GetChargeRequest>,
    ) -> Result<Response<GetChargeResponse>, Status> {
        self.arrive("GetCharge", &request).await?;
        Ok(Response::new(GetChargeResponse::default()))
    }

    async fn list_charges(
        &self,
        request: Request<ListChargesRequest>,
    ) -> Result<Response<ListChargesResponse>, Status> {
        self.arrive("ListCharges", &request).await?;
        Ok(Response::new(ListChargesResponse::default()))
    }
}

/// A ledger server on port 0, serving.
struct Running {
    address: SocketAddr,
    ledger: Ledger,
    shutdown: Shutdown,
    _data: tempfile::TempDir,
}

impl Running {
    async fn start(answer: Answer) -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let args = ServerArgs::for_tests(data.path());
        let ledger = Ledger {
            answer: Arc::new(Mutex::new(answer)),
            arrivals: Arc::default(),
        };
        let server = Server::bind("payment", &args, 0)
            .await
            .expect("binds port 0 on loopback")
            .add_service(PaymentServiceServer::new(ledger.clone()));
        let address = server.local_addr();
        let shutdown = Shutdown::new();
        tokio::spawn(server.serve(shutdown.clone()));
        Self {
            address,
            ledger,
            shutdown,
            _data: data,
        }
    }

    fn answer(&self, answer: Answer) {
        *self.ledger.answer.lock().expect("not poisoned") = answer;
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.ledger.arrivals.lock().expect("not poisoned").clone()
    }

    fn count(&self, method: &str) -> usize {
        self.arrivals()
            .iter()
            .filter(|a| a.method == method)
            .count()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// An upstream to `addresses` whose metrics say `callee`, presenting the certificate of
/// orders (which may call the ledger).
fn upstream_to(callee: &str, addresses: &[SocketAddr], deadline: Duration) -> Upstream {
    let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    Upstream::connect(callee, &addresses, deadline, &client_tls(Some("orders")))
        .expect("addresses are valid")
}

fn scrape() -> Scrape {
    chassis::metrics::install();
    Scrape::parse(&chassis::metrics::render())
}

fn charge(request_id: &str) -> ChargeRequest {
    ChargeRequest {
        request_id: request_id.to_owned(),
        order_id: "o-1".to_owned(),
        ..Default::default()
    }
}

/// The most attempts `calls` calls may make in `seconds` under the retry budget: the calls,
/// a fifth more, and ten a second over every (started) second of the budget's window, the
/// first included.
fn budgeted(calls: usize, seconds: f64) -> f64 {
    calls as f64 * (1.0 + f64::from(RETRY_RATIO))
        + f64::from(RETRIES_PER_SEC) * (seconds.ceil() + 1.0)
}

/// Makes `calls` calls with `make`, 16 at a time; returns how long that took, in seconds,
/// and how many failed.
async fn flood<F, Fut>(calls: usize, make: F) -> (f64, usize)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send,
{
    const AT_ONCE: usize = 16;
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..AT_ONCE {
        let make = make.clone();
        workers.spawn(async move {
            let mut failed = 0;
            for index in (worker..calls).step_by(AT_ONCE) {
                if make(index).await.is_err() {
                    failed += 1;
                }
            }
            failed
        });
    }
    let mut failed = 0;
    while let Some(done) = workers.join_next().await {
        failed += done.expect("a worker does not panic");
    }
    (started.elapsed().as_secs_f64(), failed)
}

#[tokio::test]
async fn while_a_callee_is_stopped_retries_stay_within_the_budget() {
    let callee = "retry-stopped";
    // Nothing listens there any more: every connection is refused, before any processing,
    // so every call may be retried; the budget is what holds the retries back.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("has an address");
    let upstream = upstream_to(callee, &[address], Duration::from_secs(5));
    let before = scrape();
    const CALLS: usize = 400;
    let (seconds, failed) = flood(CALLS, move |_| {
        let mut client = RecommendationServiceClient::new(upstream.clone());
        async move { client.list_recommendations(call(&[])).await.map(|_| ()) }
    })
    .await;
    assert_eq!(failed, CALLS, "nothing answers");
    let after = scrape();
    let retries = after.delta(
        &before,
        "bazaar_client_retries_total",
        &[("callee", callee), ("reason", "unprocessed")],
    );
    let attempts = CALLS as f64 + retries;
    println!("stopped callee: {attempts} attempts for {CALLS} calls in {seconds:.2} s");
    assert!(
        retries > 0.0,
        "calls refused before any processing are retried"
    );
    assert!(
        attempts <= budgeted(CALLS, seconds),
        "{attempts} attempts for {CALLS} calls in {seconds:.2} s: more than 1.2 × the calls \
         plus {RETRIES_PER_SEC}/s"
    );
    assert!(
        after.delta(
            &before,
            "bazaar_client_retry_budget_exhausted_total",
            &[("callee", callee)]
        ) > 0.0,
        "the budget ran out and said so"
    );
    assert_eq!(
        after.delta(
            &before,
            "bazaar_client_ejections_total",
            &[("callee", callee)]
        ),
        0.0,
        "the only replica is never ejected"
    );
}

#[tokio::test]
async fn a_callee_that_answers_unavailable_to_keyed_calls_gets_at_most_the_budget() {
    let ledger = Running::start(Answer::Unavailable).await;
    let upstream = upstream_to(
        "retry-unavailable",
        &[ledger.address],
        Duration::from_secs(5),
    );
    const CALLS: usize = 400;
    let (seconds, failed) = flood(CALLS, move |index| {
        let mut client = PaymentServiceClient::new(upstream.clone());
        async move {
            client
                .charge(charge(&format!("r-{index}")))
                .await
                .map(|_| ())
        }
    })
    .await;
    assert_eq!(failed, CALLS, "the ledger is down");
    let attempts = ledger.count("Charge");
    println!("unavailable callee: {attempts} attempts for {CALLS} calls in {seconds:.2} s");
    assert!(
        attempts > CALLS,
        "a transient failure of a call with a request_id is retried: {attempts} attempts"
    );
    assert!(
        attempts as f64 <= budgeted(CALLS, seconds),
        "{attempts} attempts reached the ledger for {CALLS} calls in {seconds:.2} s: more \
         than 1.2 × the calls plus {RETRIES_PER_SEC}/s"
    );
}

#[tokio::test]
async fn what_may_have_been_processed_or_cannot_succeed_is_not_retried() {
    let ledger = Running::start(Answer::Unavailable).await;
    let upstream = upstream_to("retry-never", &[ledger.address], Duration::from_secs(5));
    let mut client = PaymentServiceClient::new(upstream);

    // No request_id in the message at all.
    let status = client
        .get_charge(GetChargeRequest {
            charge_id: "c-1".to_owned(),
        })
        .await
        .expect_err("the ledger is down");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        ledger.count("GetCharge"),
        1,
        "UNAVAILABLE after processing: once"
    );

    // A request_id field, left empty.
    let status = client
        .charge(charge(""))
        .await
        .expect_err("the ledger is down");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        ledger.count("Charge"),
        1,
        "an empty request_id does not make a call safe"
    );

    // A request_id, and an answer that no retry can change.
    ledger.answer(Answer::Invalid);
    let status = client
        .charge(charge("r-invalid"))
        .await
        .expect_err("the card is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(ledger.count("Charge"), 2, "INVALID_ARGUMENT is final");
}

#[tokio::test]
async fn a_retry_never_outlives_the_callers_deadline() {
    // The first attempt fails at once; the retry stalls past the deadline.
    let ledger = Running::start(Answer::FailThenStall(Duration::from_secs(3))).await;
    let upstream = upstream_to(
        "retry-deadline",
        &[ledger.address],
        Duration::from_millis(600),
    );
    let mut client = PaymentServiceClient::new(upstream);
    let status = client
        .charge(charge("r-deadline"))
        .await
        .expect_err("the retry cannot finish in time");
    assert_eq!(status.code(), Code::DeadlineExceeded);
    // Long enough for a third attempt to show up, were the loop still running.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let arrivals = ledger.arrivals();
    assert_eq!(
        arrivals.len(),
        2,
        "one retry, none after the deadline: {arrivals:?}"
    );
    let deadline_of = |arrival: &Arrival| {
        arrival.at
            + arrival
                .grpc_timeout
                .expect("every attempt carries the deadline")
    };
    assert!(
        deadline_of(&arrivals[1]) <= deadline_of(&arrivals[0]) + Duration::from_millis(5),
        "the retry is sent with the time that is left, not a fresh deadline: {arrivals:?}"
    );
    assert!(arrivals.len() <= MAX_ATTEMPTS as usize);
}

/// A replica with one slot, filled by a slow call from elsewhere (abort the task to free
/// it): every other call it gets is refused for overload.
async fn full_replica() -> (common::Running, tokio::task::JoinHandle<()>) {
    let busy = bind(|args| args.max_in_flight = 1, None).await.serve();
    let mut direct = busy.client().await;
    let holder = tokio::spawn(async move {
        let _ = direct
            .list_recommendations(call(&[("x-sleep-ms", "10000")]))
            .await;
    });
    busy.wait_for_calls(1).await;
    (busy, holder)
}

#[tokio::test]
async fn a_call_refused_by_the_limit_is_retried_on_the_other_replica() {
    let callee = "retry-refused";
    let (busy, holder) = full_replica().await;
    let idle = bind(|args| args.max_in_flight = 1, None).await.serve();

    let upstream = upstream_to(
        callee,
        &[busy.address, idle.address],
        Duration::from_secs(5),
    );
    let mut client = RecommendationServiceClient::new(upstream);
    let before = scrape();
    let mut calls = 0;
    let refused = loop {
        calls += 1;
        client
            .list_recommendations(call(&[]))
            .await
            .expect("a refused call is retried on the idle replica");
        let refused = scrape().delta(
            &before,
            "bazaar_client_retries_total",
            &[("callee", callee), ("reason", "refused")],
        );
        if refused > 0.0 || calls == 100 {
            break refused;
        }
    };
    assert!(
        refused > 0.0,
        "no call of {calls} was sent to the busy replica"
    );
    assert_eq!(busy.seen().len(), 1, "the busy replica ran nothing more");
    assert_eq!(
        idle.seen().len(),
        calls,
        "the idle replica answered every call"
    );
    holder.abort();
    busy.shutdown.trigger();
    idle.shutdown.trigger();
}

#[tokio::test]
async fn a_callee_that_keeps_refusing_is_spared_by_the_callers_throttle() {
    let callee = "retry-throttled";
    // Every call but the one holding the only slot is refused.
    let (busy, holder) = full_replica().await;

    let upstream = upstream_to(callee, &[busy.address], Duration::from_secs(5));
    let mut client = RecommendationServiceClient::new(upstream);
    let before = scrape();
    let calls = 200;
    for _ in 0..calls {
        let status = client
            .list_recommendations(call(&[]))
            .await
            .expect_err("the only replica is full");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    }
    let after = scrape();
    let throttled = after.delta(
        &before,
        "bazaar_client_throttled_total",
        &[("callee", callee)],
    );
    let retried = after.delta(
        &before,
        "bazaar_client_retries_total",
        &[("callee", callee), ("reason", "refused")],
    );
    // The first few refusals are tolerated; from then on about 1.1 × the accepts (none)
    // are sent, and the rest held back.
    assert!(
        throttled >= f64::from(calls) / 2.0,
        "only {throttled} of {calls} calls were held back by the caller"
    );
    assert_eq!(
        retried, 0.0,
        "an overload refusal of the only replica is not asked again"
    );

    // Once the callee has room and the refusals are out of the window, calls go through.
    holder.abort();
    tokio::time::sleep(chassis::throttle::WINDOW * 2).await;
    client
        .list_recommendations(call(&[]))
        .await
        .expect("the callee has room again and the throttle has forgotten its refusals");
    busy.shutdown.trigger();
}

#[tokio::test]
async fn a_failing_replica_is_ejected_then_brought_back() {
    let callee = "retry-eject";
    // The failing replica answers at once and the healthy one slowly, so by latency alone
    // the balancer prefers the failing one.
    let failing = Running::start(Answer::Unavailable).await;
    let healthy = Running::start(Answer::Slow(Duration::from_millis(100))).await;
    let upstream = upstream_to(
        callee,
        &[failing.address, healthy.address],
        Duration::from_secs(5),
    );
    let mut client = PaymentServiceClient::new(upstream);
    let get = || GetChargeRequest {
        charge_id: "c-1".to_owned(),
    };
    let before = scrape();
    let mut calls = 0;
    while scrape().delta(
        &before,
        "bazaar_client_ejections_total",
        &[("callee", callee)],
    ) < 1.0
    {
        calls += 1;
        assert!(
            calls <= 60,
            "the failing replica is never ejected: it saw {} calls, the healthy one {}",
            failing.count("GetCharge"),
            healthy.count("GetCharge")
        );
        let _ = client.get_charge(get()).await;
    }
    assert!(
        failing.count("GetCharge") >= 3,
        "ejected after failures in a row"
    );

    // Ejected: every call goes to the healthy replica, even once it is fast.
    healthy.answer(Answer::Ok);
    let failed_so_far = failing.count("GetCharge");
    for _ in 0..10 {
        client
            .get_charge(get())
            .await
            .expect("the healthy replica answers");
    }
    assert_eq!(
        failing.count("GetCharge"),
        failed_so_far,
        "the ejected replica got nothing"
    );

    // It recovers; once its ejection is over it gets calls again.
    failing.answer(Answer::Ok);
    let back = tokio::time::timeout(PATIENCE, async {
        while failing.count("GetCharge") == failed_so_far {
            client
                .get_charge(get())
                .await
                .expect("both replicas answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the ejected replica is never tried again");
}
