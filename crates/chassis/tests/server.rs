//! `chassis::Server` and `chassis::client::Upstream` through real gRPC on real sockets: probe
//! servers (see `common`) on port 0, called with generated clients.
//!
//! Nothing here asserts that something took less than some time; timeouts around awaits are
//! safety nets against a hung test.

mod common;

use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use chassis::client::{Upstream, UpstreamError};
use common::{PATIENCE, PROBE, bind, call, start, upstream};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const HEALTH: &str = "grpc.health.v1.Health";

#[tokio::test]
async fn port_zero_binds_a_real_port_that_answers() {
    let running = start().await;
    assert_ne!(running.address.port(), 0);
    running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect("the probe answers");
    assert_eq!(running.seen().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_service_and_health() {
    use tokio_stream::iter;
    use tonic_reflection::pb::{v1, v1alpha};
    let running = start().await;

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let answer = v1::server_reflection_client::ServerReflectionClient::new(running.channel().await)
        .server_reflection_info(iter([request]))
        .await
        .expect("reflection v1 answers")
        .into_inner()
        .message()
        .await
        .expect("a reflection v1 message")
        .expect("one message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("reflection v1 did not list services: {answer:?}");
    };
    let v1_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();

    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let answer =
        v1alpha::server_reflection_client::ServerReflectionClient::new(running.channel().await)
            .server_reflection_info(iter([request]))
            .await
            .expect("reflection v1alpha answers")
            .into_inner()
            .message()
            .await
            .expect("a reflection v1alpha message")
            .expect("one message");
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("reflection v1alpha did not list services: {answer:?}");
    };
    let v1alpha_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();

    for names in [&v1_names, &v1alpha_names] {
        for expected in [PROBE, HEALTH] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(
            !names.iter().any(|n| n.contains("catalog")),
            "only what this server serves: {names:?}"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn health_is_not_serving_until_the_service_says_it_is_ready() {
    let mut bound = bind(|_| {}, None).await;
    let readiness = bound.server.readiness();
    let running = bound.serve();
    assert_eq!(running.health("").await, ServingStatus::NotServing);
    assert_eq!(running.health(PROBE).await, ServingStatus::NotServing);
    readiness.set_serving().await;
    assert_eq!(running.health("").await, ServingStatus::Serving);
    assert_eq!(running.health(PROBE).await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn without_a_readiness_handle_health_is_serving_once_it_serves() {
    let running = start().await;
    // The first connection is accepted only after serve has reported itself ready.
    assert_eq!(running.health("").await, ServingStatus::Serving);
    assert_eq!(running.health(PROBE).await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn readiness_reported_before_serving_starts_is_kept() {
    // A service whose store opens before `serve` gets going (it is opened in the background
    // while `serve` starts) must not be left NOT_SERVING under its own name.
    let mut bound = bind(|_| {}, None).await;
    let readiness = bound.server.readiness();
    readiness.set_serving().await;
    let running = bound.serve();
    assert_eq!(running.health("").await, ServingStatus::Serving);
    assert_eq!(running.health(PROBE).await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn readiness_taken_before_the_service_is_added_still_covers_it() {
    let mut readiness = None;
    let bound =
        common::bind_with(|_| {}, None, |server| readiness = Some(server.readiness())).await;
    let readiness = readiness.expect("taken before the probe was added");
    let running = bound.serve();
    readiness.set_serving().await;
    assert_eq!(running.health("").await, ServingStatus::Serving);
    assert_eq!(running.health(PROBE).await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn a_stop_turns_health_not_serving_for_those_watching() {
    let running = start().await;
    let mut watch = HealthClient::new(running.channel().await)
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch answers")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("one");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    running.shutdown.trigger();
    let next = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("a status change (safety net)")
        .expect("a status")
        .expect("one");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // An open watch would hold the drain for the whole grace period.
    drop(watch);
    running.stopped().await.expect("serve returns Ok");
}

#[tokio::test]
async fn the_service_cannot_report_ready_again_once_a_stop_began() {
    let mut bound = bind(|args| args.shutdown_grace_secs = 1, None).await;
    let readiness = bound.server.readiness();
    let running = bound.serve();
    readiness.set_serving().await;
    let mut watch = HealthClient::new(running.channel().await)
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch answers")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("one");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    running.shutdown.trigger();
    let next = watch.message().await.expect("a status").expect("one");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // E.g. the store finished opening just now.
    readiness.set_serving().await;
    // The watch ends when the grace period cuts its connection off; until then it must not
    // hear SERVING again.
    let after = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("the watch ends with the grace period (safety net)");
    if let Ok(Some(message)) = after {
        assert_ne!(
            message.status,
            ServingStatus::Serving as i32,
            "SERVING while stopping"
        );
    }
    running.stopped().await.expect("serve returns Ok");
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
    running.wait_for_calls(1).await;
    let address = running.address;
    running.shutdown.trigger();
    tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the in-flight call ends (safety net)")
        .expect("the call task did not panic")
        .expect("the in-flight call finished normally");
    running.stopped().await.expect("serve returns Ok");
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no one listens after a stop"
    );
}

#[tokio::test]
async fn the_grace_period_is_a_hard_deadline() {
    let running = bind(|args| args.shutdown_grace_secs = 1, None)
        .await
        .serve();
    let mut client = running.client().await;
    let stuck = tokio::spawn(async move {
        client
            .list_recommendations(call(&[("x-sleep-ms", "30000")]))
            .await
    });
    running.wait_for_calls(1).await;
    running.shutdown.trigger();
    running.stopped().await.expect("serve returns Ok");
    let outcome = tokio::time::timeout(PATIENCE, stuck)
        .await
        .expect("the stuck call ends once its connection is cut (safety net)")
        .expect("the call task did not panic");
    assert!(outcome.is_err(), "the stuck call was cut off: {outcome:?}");
}

#[tokio::test]
async fn an_expired_deadline_is_answered_with_deadline_exceeded() {
    let running = start().await;

    // The server's own answer, to a client that keeps no timer.
    let mut request = call(&[("x-sleep-ms", "5000")]);
    request.set_timeout(Duration::from_millis(100));
    let status = running
        .untimed_client()
        .await
        .list_recommendations(request)
        .await
        .expect_err("the deadline passes first");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    // And through bazaar's own client, whose timer fires at the same moment.
    let mut request = call(&[("x-sleep-ms", "5000")]);
    request.set_timeout(Duration::from_millis(100));
    let status =
        RecommendationServiceClient::new(upstream(&[running.address], Duration::from_secs(5)))
            .list_recommendations(request)
            .await
            .expect_err("the deadline passes first");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    running.stop().await;
}

#[tokio::test]
async fn the_callers_deadline_is_carried_to_the_outbound_call() {
    let back = start().await;
    let front = bind(
        |_| {},
        Some(upstream(&[back.address], Duration::from_millis(700))),
    )
    .await
    .serve();
    let mut request = call(&[("x-forward", "1")]);
    request.set_timeout(Duration::from_secs(2));
    front
        .client()
        .await
        .list_recommendations(request)
        .await
        .expect("forwarded");
    let seen = back.seen().pop().expect("the back was called");
    let carried = seen
        .grpc_timeout
        .expect("the outbound call carries a deadline");
    assert!(carried <= Duration::from_secs(2), "{carried:?}");
    assert!(carried > Duration::from_secs(1), "{carried:?}");
    assert!(
        seen.deadline.is_some(),
        "the back handler knows its deadline"
    );
    front.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn without_an_inbound_deadline_the_outbound_call_gets_the_default() {
    let back = start().await;
    let front = bind(
        |_| {},
        Some(upstream(&[back.address], Duration::from_millis(700))),
    )
    .await
    .serve();
    front
        .client()
        .await
        .list_recommendations(call(&[("x-forward", "1")]))
        .await
        .expect("forwarded");
    assert!(
        front.seen()[0].deadline.is_none(),
        "the inbound call had no deadline"
    );
    let seen = back.seen().pop().expect("the back was called");
    let carried = seen
        .grpc_timeout
        .expect("the outbound call carries a deadline");
    assert!(carried <= Duration::from_millis(700), "{carried:?}");
    assert!(
        seen.deadline.is_some(),
        "the back handler knows its deadline"
    );
    front.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn a_downstream_call_that_outlives_the_callers_deadline_is_deadline_exceeded() {
    let back = start().await;
    let front = bind(
        |_| {},
        Some(upstream(&[back.address], Duration::from_secs(5))),
    )
    .await
    .serve();
    let mut request = call(&[("x-forward", "1"), ("x-forward-sleep-ms", "5000")]);
    request.set_timeout(Duration::from_millis(300));
    let status = front
        .untimed_client()
        .await
        .list_recommendations(request)
        .await
        .expect_err("the back is too slow");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    let carried = back.seen()[0].grpc_timeout.expect("a carried deadline");
    assert!(carried <= Duration::from_millis(300), "{carried:?}");
    front.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn an_upstream_balances_across_every_address() {
    let first = start().await;
    let second = start().await;
    let mut client = RecommendationServiceClient::new(upstream(
        &[first.address, second.address],
        Duration::from_secs(5),
    ));
    for _ in 0..40 {
        client
            .list_recommendations(call(&[]))
            .await
            .expect("answers");
    }
    let (a, b) = (first.seen().len(), second.seen().len());
    assert_eq!(a + b, 40);
    assert!(a > 0 && b > 0, "both replicas served: {a} and {b}");
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn handlers_know_the_callers_address() {
    let running = start().await;
    running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect("answers");
    let peer = running.seen()[0]
        .peer
        .expect("the peer address reaches the handler");
    assert!(peer.ip().is_loopback());
    assert_ne!(peer.port(), running.address.port());
    running.stop().await;
}

#[tokio::test]
async fn an_upstream_passes_over_a_replica_that_is_down() {
    let live = start().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("has an address");
    // Nothing listens on `free`: that replica refuses every connection at once.
    let mut client =
        RecommendationServiceClient::new(upstream(&[live.address, free], Duration::from_secs(5)));
    let mut failed = 0;
    for _ in 0..40 {
        if client.list_recommendations(call(&[])).await.is_err() {
            failed += 1;
        }
    }
    assert!(
        failed <= 2,
        "after its first refusal the dead replica is passed over: {failed} of 40 failed"
    );
    assert!(live.seen().len() >= 38);
    live.stop().await;
}

#[tokio::test]
async fn an_upstream_connects_lazily_and_a_service_that_is_down_is_unavailable() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("has an address");
    // The listener is dropped: nothing listens on `free` any more.
    let tls = common::client_tls(Some("orders"));
    let down = Upstream::connect("down", &[free.to_string()], Duration::from_secs(2), &tls)
        .expect("nothing is connected yet, so nothing fails yet");
    let status = RecommendationServiceClient::new(down)
        .list_recommendations(call(&[]))
        .await
        .expect_err("nothing listens");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    let none = Upstream::connect("nowhere", &[], Duration::from_secs(1), &tls);
    assert!(matches!(none, Err(UpstreamError::NoAddress(_))), "{none:?}");
}

/// The pushback hint of a refusal, in milliseconds.
fn pushback_ms(status: &tonic::Status) -> u64 {
    status
        .metadata()
        .get(chassis::retry::PUSHBACK)
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or_else(|| panic!("a refusal carries a pushback hint: {status:?}"))
}

#[tokio::test]
async fn calls_beyond_the_limit_are_refused_at_once_with_a_pushback_hint() {
    let running = bind(|args| args.max_in_flight = 1, None).await.serve();
    let mut slow = running.client().await;
    let first = tokio::spawn(async move {
        slow.list_recommendations(call(&[("x-sleep-ms", "1000")]))
            .await
    });
    running.wait_for_calls(1).await;
    // On another connection: the bound is the whole process's.
    let mut client = running.client().await;
    let status = client
        .list_recommendations(call(&[]))
        .await
        .expect_err("refused while the first is in flight");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("limit"), "{status:?}");
    let pushback = pushback_ms(&status);
    assert!((10..=1000).contains(&pushback), "{pushback}");
    assert_eq!(
        running.seen().len(),
        1,
        "the refused call never reached the handler"
    );
    // Health is not counted: a probe answers even when the process is at its limit.
    assert_eq!(running.health("").await, ServingStatus::Serving);
    first
        .await
        .expect("the call task did not panic")
        .expect("the admitted call completes");
    client
        .list_recommendations(call(&[]))
        .await
        .expect("admitted again once the first is done");
    running.stop().await;
}

#[tokio::test]
async fn a_continuation_from_a_service_is_admitted_where_new_work_is_refused() {
    // A ceiling of 4 is also the floor: the limit is 4, new work may use 3 of it.
    let running = bind(|args| args.max_in_flight = 4, None).await.serve();
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut client = running.client().await;
        holders.push(tokio::spawn(async move {
            client
                .list_recommendations(call(&[("x-sleep-ms", "1000")]))
                .await
        }));
    }
    running.wait_for_calls(3).await;
    let marked = || call(&[(chassis::priority::HEADER, chassis::priority::CONTINUATION)]);
    let service = running
        .channel_with(&common::client_tls(Some("orders")))
        .await
        .expect("connects");
    let operator = running
        .channel_with(&common::client_tls(Some("operator")))
        .await
        .expect("connects");

    // New work is over its share.
    let status = RecommendationServiceClient::new(service.clone())
        .list_recommendations(call(&[]))
        .await
        .expect_err("new work is refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // The mark from a caller that is not a service is ignored.
    for (who, channel) in [
        ("anonymous", running.channel().await),
        ("operator", operator),
    ] {
        let status = RecommendationServiceClient::new(channel)
            .list_recommendations(marked())
            .await
            .expect_err("a marked call from outside is new work");
        assert_eq!(status.code(), Code::ResourceExhausted, "{who}: {status:?}");
    }
    // From a service, it is a continuation, and the handler runs as one.
    RecommendationServiceClient::new(service)
        .list_recommendations(marked())
        .await
        .expect("a continuation is admitted up to the whole limit");
    let seen = running.seen();
    assert_eq!(seen.len(), 4, "refused calls never reached the handler");
    assert_eq!(seen[3].priority, chassis::priority::Priority::Continuation);
    assert!(
        seen[..3]
            .iter()
            .all(|s| s.priority == chassis::priority::Priority::New)
    );
    for holder in holders {
        holder
            .await
            .expect("no panic")
            .expect("the admitted calls complete");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_continuation_travels_to_the_calls_its_handler_makes() {
    let last = start().await;
    let first = bind(
        |_| {},
        Some(upstream(&[last.address], Duration::from_secs(5))),
    )
    .await
    .serve();
    let service = first
        .channel_with(&common::client_tls(Some("orders")))
        .await
        .expect("connects");
    let forward =
        |priority: &str| call(&[("x-forward", "1"), (chassis::priority::HEADER, priority)]);
    let mut client = RecommendationServiceClient::new(service);
    client
        .list_recommendations(forward(chassis::priority::CONTINUATION))
        .await
        .expect("forwarded");
    client
        .list_recommendations(forward("new"))
        .await
        .expect("forwarded");
    let seen = last.seen();
    assert_eq!(
        seen.iter().map(|s| s.priority).collect::<Vec<_>>(),
        [
            chassis::priority::Priority::Continuation,
            chassis::priority::Priority::New
        ],
        "the next hop saw the priority of the call that caused it"
    );
    first.stop().await;
    last.stop().await;
}
