//! The chassis through real gRPC on real sockets: a small test service (the contract's
//! recommendation service, whose behaviour the tests drive through request metadata) is
//! served with `chassis::Server` on port 0 and called with a generated client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use bazaar_contract::recommendation::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use bazaar_contract::recommendation::v1::{
    ListRecommendationsRequest, ListRecommendationsResponse,
};
use chassis::client::Upstream;
use chassis::{Server, ServerArgs, Shutdown};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// What one call saw on arrival.
#[derive(Clone, Debug)]
struct Seen {
    grpc_timeout: Option<Duration>,
    had_deadline: bool,
}

/// The test service: `x-sleep-ms` makes it wait, `x-forward` makes it call `upstream`.
#[derive(Clone)]
struct Probe {
    seen: Arc<Mutex<Vec<Seen>>>,
    upstream: Option<Upstream>,
}

#[tonic::async_trait]
impl RecommendationService for Probe {
    async fn list_recommendations(
        &self,
        request: Request<ListRecommendationsRequest>,
    ) -> Result<Response<ListRecommendationsResponse>, Status> {
        let metadata = request.metadata();
        self.seen.lock().unwrap().push(Seen {
            grpc_timeout: request
                .metadata()
                .clone()
                .into_headers()
                .get("grpc-timeout")
                .and_then(chassis::deadline::parse_timeout),
            had_deadline: chassis::deadline::current().is_some(),
        });
        let sleep = metadata
            .get("x-sleep-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let forward = metadata.get("x-forward").is_some();
        if let Some(ms) = sleep {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if forward {
            let upstream = self
                .upstream
                .clone()
                .expect("a forwarding probe has an upstream");
            let mut inner = Request::new(ListRecommendationsRequest::default());
            if let Some(ms) = metadata.get("x-forward-sleep-ms") {
                inner.metadata_mut().insert("x-sleep-ms", ms.clone());
            }
            return RecommendationServiceClient::new(upstream)
                .list_recommendations(inner)
                .await;
        }
        Ok(Response::new(ListRecommendationsResponse::default()))
    }
}

struct Running {
    address: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), chassis::server::ServeError>>,
    readiness: Option<chassis::Readiness>,
    _dir: tempfile::TempDir,
}

async fn start_with(
    configure: impl FnOnce(&mut ServerArgs),
    upstream: Option<Upstream>,
    manual_readiness: bool,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut args = ServerArgs::for_tests(dir.path());
    configure(&mut args);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let probe = Probe {
        seen: seen.clone(),
        upstream,
    };
    let mut server = Server::bind("probe", &args, 0)
        .await
        .expect("binds")
        .add_service(RecommendationServiceServer::new(probe));
    let readiness = manual_readiness.then(|| server.readiness());
    let address = server.local_addr();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(server.serve(shutdown.clone()));
    Running {
        address,
        seen,
        shutdown,
        task,
        readiness,
        _dir: dir,
    }
}

async fn start() -> Running {
    start_with(|_| {}, None, false).await
}

impl Running {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .expect("connects")
    }

    async fn client(&self) -> RecommendationServiceClient<Channel> {
        RecommendationServiceClient::new(self.channel().await)
    }

    async fn health(&self) -> ServingStatus {
        let response = HealthClient::new(self.channel().await)
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers");
        ServingStatus::try_from(response.into_inner().status).unwrap()
    }

    async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the server stops (safety net, not a measurement)")
            .expect("serve task")
            .expect("serve returns Ok");
    }
}

fn call(metadata: &[(&'static str, &str)]) -> Request<ListRecommendationsRequest> {
    let mut request = Request::new(ListRecommendationsRequest::default());
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn port_zero_binds_a_real_port_that_answers() {
    let running = start().await;
    assert_ne!(running.address.port(), 0);
    running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect("answers");
    running.stop().await;
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_service_and_health() {
    use tonic_reflection::pb::{v1, v1alpha};
    let running = start().await;

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream =
        v1::server_reflection_client::ServerReflectionClient::new(running.channel().await)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("not a list of services");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"bazaar.recommendation.v1.RecommendationService".to_owned()));
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()));
    assert!(
        !names.iter().any(|n| n.contains("catalog")),
        "only what it serves: {names:?}"
    );

    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream =
        v1alpha::server_reflection_client::ServerReflectionClient::new(running.channel().await)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("not a list of services");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "bazaar.recommendation.v1.RecommendationService")
    );
    running.stop().await;
}

#[tokio::test]
async fn health_is_not_serving_until_ready_and_again_from_the_first_moment_of_a_stop() {
    let running = start_with(|_| {}, None, true).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    running.readiness.as_ref().unwrap().set_serving().await;
    assert_eq!(running.health().await, ServingStatus::Serving);

    // A watcher sees NOT_SERVING as soon as the stop begins.
    let mut watch = HealthClient::new(running.channel().await)
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    running.shutdown.trigger();
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    drop(watch);
    running.stop().await;
}

#[tokio::test]
async fn without_manual_readiness_it_is_serving_once_it_serves() {
    let running = start().await;
    // The task may not have reached the accept loop yet; the health answer comes from it.
    assert_eq!(running.health().await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn a_stop_drains_an_in_flight_call_then_refuses_new_connections() {
    let running = start().await;
    let mut client = running.client().await;
    let in_flight = tokio::spawn(async move {
        client
            .list_recommendations(call(&[("x-sleep-ms", "500")]))
            .await
    });
    // Let the call arrive before asking for the stop.
    while running.seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let address = running.address;
    running.stop().await;
    in_flight
        .await
        .unwrap()
        .expect("the in-flight call finished normally");
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no one listens after the stop"
    );
}

#[tokio::test]
async fn the_grace_period_is_a_hard_deadline() {
    let running = start_with(|args| args.shutdown_grace_secs = 1, None, false).await;
    let mut client = running.client().await;
    let stuck = tokio::spawn(async move {
        client
            .list_recommendations(call(&[("x-sleep-ms", "60000")]))
            .await
    });
    while running.seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    assert!(stuck.await.unwrap().is_err(), "the stuck call was cut off");
}

#[tokio::test]
async fn an_expired_deadline_is_deadline_exceeded() {
    // Through bazaar's own client; tonic's plain channel would report its local timer as
    // CANCELLED (the server's own answer is checked in the deadline module's unit tests).
    let running = start().await;
    let upstream = Upstream::connect(
        "probe",
        &[running.address.to_string()],
        Duration::from_millis(100),
    )
    .unwrap();
    let status = RecommendationServiceClient::new(upstream)
        .list_recommendations(call(&[("x-sleep-ms", "5000")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    running.stop().await;
}

#[tokio::test]
async fn the_callers_deadline_is_carried_to_the_outbound_call() {
    let back = start().await;
    let upstream = Upstream::connect(
        "back",
        &[back.address.to_string()],
        Duration::from_millis(700),
    )
    .unwrap();
    let front = start_with(|_| {}, Some(upstream.clone()), false).await;
    let mut client = front.client().await;
    let mut bazaar_client = RecommendationServiceClient::new(
        Upstream::connect(
            "front",
            &[front.address.to_string()],
            Duration::from_secs(5),
        )
        .unwrap(),
    );

    // With a 2 s deadline on the way in, the way out carries what is left of it.
    let mut request = call(&[("x-forward", "1")]);
    request.set_timeout(Duration::from_secs(2));
    client.list_recommendations(request).await.unwrap();
    let seen = back.seen.lock().unwrap().last().cloned().unwrap();
    let carried = seen.grpc_timeout.expect("the outbound call has a deadline");
    assert!(carried <= Duration::from_secs(2), "{carried:?}");
    assert!(carried > Duration::from_secs(1), "{carried:?}");
    assert!(seen.had_deadline);

    // Without an inbound deadline, the outbound call gets the default.
    client
        .list_recommendations(call(&[("x-forward", "1")]))
        .await
        .unwrap();
    let seen = back.seen.lock().unwrap().last().cloned().unwrap();
    let carried = seen.grpc_timeout.expect("the outbound call has a deadline");
    assert!(carried <= Duration::from_millis(700), "{carried:?}");

    // When the downstream call outlives the caller's deadline, the caller hears
    // DEADLINE_EXCEEDED.
    let mut request = call(&[("x-forward", "1"), ("x-forward-sleep-ms", "3000")]);
    request.set_timeout(Duration::from_millis(300));
    let status = bazaar_client
        .list_recommendations(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    front.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn an_upstream_balances_across_every_address() {
    let first = start().await;
    let second = start().await;
    let upstream = Upstream::connect(
        "pair",
        &[first.address.to_string(), second.address.to_string()],
        Duration::from_secs(5),
    )
    .unwrap();
    let mut client = RecommendationServiceClient::new(upstream);
    for _ in 0..40 {
        client.list_recommendations(call(&[])).await.unwrap();
    }
    let a = first.seen.lock().unwrap().len();
    let b = second.seen.lock().unwrap().len();
    assert_eq!(a + b, 40);
    assert!(a > 0 && b > 0, "both replicas served: {a} and {b}");
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn an_upstream_connects_lazily_and_a_down_service_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream = Upstream::connect(
        "nobody",
        &[format!("127.0.0.1:{port}")],
        Duration::from_secs(2),
    )
    .expect("nothing is connected yet, so nothing fails yet");
    let status = RecommendationServiceClient::new(upstream)
        .list_recommendations(call(&[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(Upstream::connect("nobody", &[], Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn calls_beyond_the_in_flight_limit_are_refused_at_once() {
    let running = start_with(|args| args.max_in_flight = 1, None, false).await;
    let mut slow = running.client().await;
    let first = tokio::spawn(async move {
        slow.list_recommendations(call(&[("x-sleep-ms", "1000")]))
            .await
    });
    while running.seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut client = running.client().await;
    let status = client.list_recommendations(call(&[])).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    first.await.unwrap().expect("the admitted call completes");
    client
        .list_recommendations(call(&[]))
        .await
        .expect("admitted again once the first is done");
    running.stop().await;
}
