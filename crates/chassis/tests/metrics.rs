//! The call metrics of the chassis through real gRPC on real sockets: probe servers (see
//! `common`) on port 0 with TLS, an admin listener on port 0, and scrapes of its `/metrics`
//! over plain HTTP, as Prometheus makes them.
//!
//! The recorder is global to the test process, so every test compares two scrapes, and the
//! tests take turns (they call the same probe method).

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
use std::time::Duration;

use chassis::Shutdown;
use chassis::admin::{Admin, Ready};
use common::{PATIENCE, PROBE, bind, call, start, upstream};
use metrics_page::Scrape;
use tonic::Code;

/// One test at a time: they move the same series.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const METHOD: &str = "ListRecommendations";

/// An admin listener of this process on port 0, with readiness `ready`.
async fn admin(ready: Ready) -> SocketAddr {
    let admin = Admin::bind("127.0.0.1:0".parse().expect("an address"), ready)
        .await
        .expect("binds port 0");
    let addr = admin.local_addr();
    admin.spawn(Shutdown::new());
    addr
}

fn probe_labels(code: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut labels = vec![
        ("grpc_type", "unary"),
        ("grpc_service", PROBE),
        ("grpc_method", METHOD),
    ];
    if let Some(code) = code {
        labels.push(("grpc_code", code));
    }
    labels
}

#[tokio::test]
async fn served_and_failed_calls_are_counted_by_code_and_timed() {
    let _turn = SERIAL.lock().await;
    let metrics = admin(Ready::default()).await;
    let running = start().await;
    let mut client = running.client().await;
    let before = Scrape::of(metrics).await;

    client
        .list_recommendations(call(&[]))
        .await
        .expect("answers");
    let mut late = call(&[("x-sleep-ms", "2000")]);
    late.set_timeout(Duration::from_millis(50));
    let status = running
        .untimed_client()
        .await
        .list_recommendations(late)
        .await
        .expect_err("the deadline passes first");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    let after = Scrape::of(metrics).await;
    let delta = |name: &str, labels: &[(&str, &str)]| after.delta(&before, name, labels);
    assert_eq!(delta("grpc_server_started_total", &probe_labels(None)), 2.0);
    assert_eq!(
        delta("grpc_server_handled_total", &probe_labels(Some("OK"))),
        1.0
    );
    assert_eq!(
        delta(
            "grpc_server_handled_total",
            &probe_labels(Some("DeadlineExceeded"))
        ),
        1.0
    );
    assert_eq!(
        delta("grpc_server_handling_seconds_count", &probe_labels(None)),
        2.0
    );
    // The late call was timed until its deadline, so at least 50 ms went into the sum.
    assert!(delta("grpc_server_handling_seconds_sum", &probe_labels(None)) >= 0.05);
    let mut inf = probe_labels(None);
    inf.push(("le", "+Inf"));
    assert_eq!(delta("grpc_server_handling_seconds_bucket", &inf), 2.0);
    running.stop().await;
}

#[tokio::test]
async fn a_call_the_caller_abandons_is_canceled() {
    let _turn = SERIAL.lock().await;
    let metrics = admin(Ready::default()).await;
    let running = start().await;
    let mut client = running.client().await;
    let before = Scrape::of(metrics).await;
    let abandoned = tokio::spawn(async move {
        client
            .list_recommendations(call(&[("x-sleep-ms", "10000")]))
            .await
    });
    running.wait_for_calls(1).await;
    abandoned.abort();
    let moved = chassis_eventually(async || {
        Scrape::of(metrics).await.delta(
            &before,
            "grpc_server_handled_total",
            &probe_labels(Some("Canceled")),
        ) == 1.0
    })
    .await;
    assert!(moved, "the abandoned call is counted as Canceled");
    running.stop().await;
}

#[tokio::test]
async fn a_call_refused_by_the_limit_is_resource_exhausted_and_counted_as_refused() {
    let _turn = SERIAL.lock().await;
    let metrics = admin(Ready::default()).await;
    let running = bind(|args| args.max_in_flight = 1, None).await.serve();
    let mut slow = running.client().await;
    let before = Scrape::of(metrics).await;
    let first = tokio::spawn(async move {
        slow.list_recommendations(call(&[("x-sleep-ms", "500")]))
            .await
    });
    running.wait_for_calls(1).await;
    let during = Scrape::of(metrics).await;
    assert_eq!(
        during.delta(&before, "bazaar_server_in_flight_calls", &[]),
        1.0,
        "the admitted call is in flight"
    );
    let status = running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    first
        .await
        .expect("no panic")
        .expect("the admitted call completes");

    let after = Scrape::of(metrics).await;
    assert_eq!(
        after.delta(
            &before,
            "bazaar_server_refused_total",
            &[("reason", "limit")]
        ),
        1.0
    );
    assert_eq!(
        after.delta(
            &before,
            "grpc_server_handled_total",
            &probe_labels(Some("ResourceExhausted"))
        ),
        1.0
    );
    assert_eq!(
        after.delta(
            &before,
            "grpc_server_handled_total",
            &probe_labels(Some("OK"))
        ),
        1.0
    );
    assert_eq!(
        after.delta(&before, "bazaar_server_in_flight_calls", &[]),
        0.0,
        "nothing left in flight"
    );
    running.stop().await;
}

#[tokio::test]
async fn made_up_paths_land_in_unknown_and_never_in_a_label() {
    let _turn = SERIAL.lock().await;
    let metrics = admin(Ready::default()).await;
    let running = start().await;
    let before = Scrape::of(metrics).await;
    let channel = running.channel().await;
    for path in ["/evil.Service/Probe1", "/evil.Service/Probe2"] {
        let request = http::Request::builder()
            .uri(format!("https://{}{path}", running.address))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(tonic::body::Body::empty())
            .expect("a request");
        let response = tower::ServiceExt::oneshot(channel.clone(), request)
            .await
            .expect("the server answers");
        assert!(response.headers().contains_key("grpc-status"));
    }
    let after = Scrape::of(metrics).await;
    let unknown = [
        ("grpc_type", "unary"),
        ("grpc_service", "unknown"),
        ("grpc_method", "unknown"),
    ];
    assert_eq!(
        after.delta(&before, "grpc_server_started_total", &unknown),
        2.0
    );
    assert!(
        !after.text.contains("evil"),
        "a made-up path is never a label"
    );
    running.stop().await;
}

#[tokio::test]
async fn outbound_calls_are_counted_with_their_callee() {
    let _turn = SERIAL.lock().await;
    let metrics = admin(Ready::default()).await;
    let next = start().await;
    let first = bind(
        |_| {},
        // The onward call's own deadline, when the inbound call has none: the late call
        // below runs out of it on the caller's side, with no inbound deadline racing it.
        Some(upstream(&[next.address], Duration::from_secs(1))),
    )
    .await
    .serve();
    let mut client = first.client().await;
    let before = Scrape::of(metrics).await;
    client
        .list_recommendations(call(&[("x-forward", "1")]))
        .await
        .expect("forwarded and answered");
    let late = call(&[("x-forward", "1"), ("x-forward-sleep-ms", "3000")]);
    let _ = client.list_recommendations(late).await;

    let client_labels = |code: Option<&'static str>| {
        let mut labels = probe_labels(code);
        labels.push(("callee", common::NAME));
        labels
    };
    let moved = chassis_eventually(async || {
        let after = Scrape::of(metrics).await;
        after.delta(&before, "grpc_client_started_total", &client_labels(None)) == 2.0
            && after.delta(
                &before,
                "grpc_client_handled_total",
                &client_labels(Some("OK")),
            ) == 1.0
            && after.delta(
                &before,
                "grpc_client_handled_total",
                &client_labels(Some("DeadlineExceeded")),
            ) == 1.0
            && after.delta(
                &before,
                "grpc_client_handling_seconds_count",
                &client_labels(None),
            ) == 2.0
    })
    .await;
    assert!(
        moved,
        "client series:\n{}",
        Scrape::of(metrics)
            .await
            .text
            .lines()
            .filter(|l| l.starts_with("grpc_client_handled_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    first.stop().await;
    next.stop().await;
}

#[tokio::test]
async fn readyz_follows_the_servers_health_and_process_metrics_are_served() {
    let _turn = SERIAL.lock().await;
    let mut bound = bind(|_| {}, None).await;
    let readiness = bound.server.readiness();
    let metrics = admin(bound.server.ready_flag()).await;
    let running = bound.serve();
    assert_eq!(
        metrics_page::get(metrics, "/readyz").await.status,
        503,
        "not ready yet"
    );
    assert_eq!(metrics_page::get(metrics, "/healthz").await.status, 200);
    readiness.set_serving().await;
    assert_eq!(metrics_page::get(metrics, "/readyz").await.status, 200);
    let scrape = Scrape::of(metrics).await;
    if cfg!(target_os = "linux") {
        for name in [
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(scrape.value(name, &[]) > 0.0, "{name} in\n{}", scrape.text);
        }
        assert!(
            scrape
                .text
                .contains("# TYPE process_cpu_seconds_total counter")
        );
    }
    running.shutdown.trigger();
    let stopped =
        chassis_eventually(async || metrics_page::get(metrics, "/readyz").await.status == 503)
            .await;
    assert!(stopped, "not ready once the server stops");
    running.stopped().await.expect("serve returns Ok");
}

/// Whether `condition` holds within [`PATIENCE`] (a call's end is counted on the server's
/// task, a moment after the client has its answer).
async fn chassis_eventually(mut condition: impl AsyncFnMut() -> bool) -> bool {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if condition().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .is_ok()
}
