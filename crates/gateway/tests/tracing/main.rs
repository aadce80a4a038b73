//! Tracing, tested from outside: an OTLP trace receiver inside the test, the whole shop
//! in-process with the gateway in front, and a checkout made over HTTP. Telemetry is
//! global to a process, so these tests have a binary of their own (and the collector that
//! is down has another one, `tracing_collector_down`).

mod receiver;
mod storefront;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bazaar_testkit::buyer::GOOD_CARD;
use chassis::config::LogFormat;
use chassis::trace::Settings;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;

use crate::receiver::{Receiver, attribute, hex};
use crate::storefront::Storefront;

/// The trace the caller of the checkout is in, sent in its `traceparent`.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The caller's span, the parent of the gateway's.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The services a checkout calls, each of which must serve its part in the trace.
const CHECKOUT: [&str; 7] = [
    "orders",
    "cart",
    "catalog",
    "currency",
    "inventory",
    "payment",
    "shipping",
];

/// Every log line, as the text formatter wrote it.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Walks up from `span` through its parents in `trace`; the ids on the way, `span` first.
fn ancestry(trace: &HashMap<String, Span>, span: &Span) -> Vec<String> {
    let mut path = vec![hex(&span.span_id)];
    let mut parent = hex(&span.parent_span_id);
    while let Some(up) = trace.get(&parent) {
        if path.contains(&parent) {
            break;
        }
        path.push(parent);
        parent = hex(&up.parent_span_id);
    }
    path.push(parent);
    path
}

/// Prints the tree of `trace` under `root` with each span's service and duration, as a
/// trace viewer shows it (`cargo test -p gateway --test tracing -- --nocapture`).
fn print_tree(trace: &HashMap<String, Span>, root: &str, depth: usize) {
    let Some(span) = trace.get(root) else {
        return;
    };
    let took = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e6;
    let service = attribute(span, "bazaar.service")
        .or_else(|| attribute(span, "peer.service").map(|_| "(client)"))
        .unwrap_or("");
    println!(
        "{:indent$}{} {service} {took:.1} ms",
        "",
        span.name,
        indent = depth * 2
    );
    let mut children: Vec<&Span> = trace
        .values()
        .filter(|child| hex(&child.parent_span_id) == root)
        .collect();
    children.sort_by_key(|child| child.start_time_unix_nano);
    for child in children {
        print_tree(trace, &hex(&child.span_id), depth + 1);
    }
}

fn kind(span: &Span) -> SpanKind {
    SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_through_the_gateway_is_one_trace_across_the_shop() {
    let (receiver, endpoint) = Receiver::start().await;
    let logs = Logs::default();
    let writer = logs.clone();
    let settings = Settings {
        endpoint,
        service_name: "bazaar-tests".to_owned(),
        queue: 8192,
    };
    let exported =
        chassis::telemetry::install(LogFormat::Text, "info", Some(&settings), move || {
            writer.clone()
        })
        .expect("the settings are valid");
    assert!(exported, "no other subscriber is installed in this binary");

    let store = Storefront::start("tracing_checkout", &["brass-desk-lamp"]).await;
    let guest = store.call("POST", "/api/v1/session/guest", &[], None).await;
    assert_eq!(guest.status, 201, "{}", guest.body);
    let token = guest.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let added = store
        .call(
            "POST",
            "/api/v1/cart/items",
            &[("authorization", &bearer)],
            Some(&json!({"product_id": "brass-desk-lamp", "quantity": 1})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let order = json!({
        "request_id": "tracing-checkout-1",
        "email": "ada@example.com",
        "currency_code": "EUR",
        "shipping_address": {"recipient_name": "Ada Lovelace", "street_lines": ["1 Main St"],
            "city": "Springfield", "postal_code": "12345", "country_code": "US"},
        "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2040, "cvv": "123",
            "holder_name": "Ada Lovelace"}
    });
    let placed = store
        .call(
            "POST",
            "/api/v1/orders",
            &[("authorization", &bearer), ("traceparent", &traceparent)],
            Some(&order),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.json()["order"]["state"], "placed");

    // The response names the trace the checkout continued, and the gateway's span in it.
    let traceresponse = placed
        .header("traceresponse")
        .expect("a traced response names its trace")
        .to_owned();
    let parts: Vec<&str> = traceresponse.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceresponse}");
    assert_eq!(parts[0], "00");
    assert_eq!(
        parts[1], CALLER_TRACE,
        "the gateway continued the caller's trace"
    );
    let gateway_span = parts[2].to_owned();

    // Spans arrive in batches, notification's after it reads the order's event.
    let mut trace = HashMap::new();
    let mut linked = Vec::new();
    for _ in 0..60 {
        let _ = tokio::task::spawn_blocking(chassis::telemetry::flush).await;
        trace = receiver.trace(CALLER_TRACE);
        linked = receiver.linked_to(CALLER_TRACE);
        let served: BTreeSet<&str> = trace
            .values()
            .filter_map(|span| attribute(span, "bazaar.service"))
            .collect();
        let notified = linked
            .iter()
            .any(|span| attribute(span, "bazaar.service") == Some("notification"));
        if notified && CHECKOUT.iter().all(|service| served.contains(service)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let gateway = trace
        .get(&gateway_span)
        .unwrap_or_else(|| panic!("the gateway's span {gateway_span} was exported"));
    print_tree(&trace, &gateway_span, 0);
    assert_eq!(gateway.name, "POST /api/v1/orders");
    assert_eq!(kind(gateway), SpanKind::Server);
    assert_eq!(attribute(gateway, "bazaar.service"), Some("gateway"));
    assert_eq!(attribute(gateway, "http.route"), Some("/api/v1/orders"));
    assert_eq!(
        hex(&gateway.parent_span_id),
        CALLER_SPAN,
        "the gateway's span is a child of the caller's"
    );

    // Every gRPC server span is the child of a client span calling that very service.
    let mut served = BTreeSet::new();
    for span in trace.values().filter(|span| kind(span) == SpanKind::Server) {
        if hex(&span.span_id) == gateway_span {
            continue;
        }
        let service = attribute(span, "bazaar.service")
            .unwrap_or_else(|| panic!("server span {} names its service", span.name));
        assert_eq!(attribute(span, "rpc.system"), Some("grpc"));
        let parent = trace
            .get(&hex(&span.parent_span_id))
            .unwrap_or_else(|| panic!("the parent of {service}'s {} is in the trace", span.name));
        assert_eq!(
            kind(parent),
            SpanKind::Client,
            "{service}'s {} is called by a client span",
            span.name
        );
        assert_eq!(
            attribute(parent, "peer.service"),
            Some(service),
            "the client span calls the service that served it"
        );
        assert_eq!(parent.name, span.name, "both ends name the same method");
        served.insert(service);
    }
    for service in CHECKOUT {
        assert!(
            served.contains(service),
            "{service} served its part of the checkout in the trace; served: {served:?}"
        );
    }
    // One tree: every span leads up to the gateway's, and the gateway's to the caller's.
    for span in trace.values() {
        let path = ancestry(&trace, span);
        assert!(
            path.contains(&gateway_span) && path.last().map(String::as_str) == Some(CALLER_SPAN),
            "{} leads up to the gateway's span: {path:?}",
            span.name
        );
    }
    assert!(
        trace.values().any(|span| span.name == "checkout saga"),
        "the saga runs in the checkout's trace"
    );

    // Notification's handling of the order's event is linked to the checkout's trace.
    let notification = linked
        .iter()
        .find(|span| attribute(span, "bazaar.service") == Some("notification"))
        .expect("notification linked its handling of the event to the checkout's trace");
    assert_eq!(kind(notification), SpanKind::Consumer);
    assert_ne!(
        hex(&notification.trace_id),
        CALLER_TRACE,
        "handling an event is a trace of its own, linked to the order's"
    );

    // Log lines made while serving the checkout carry its trace.
    let text = logs.text();
    let tagged = format!("trace_id={CALLER_TRACE} span_id=");
    assert!(
        text.lines()
            .any(|line| line.contains("order recorded") && line.contains(&tagged)),
        "the order's log line carries its trace; logs:\n{text}"
    );
    store.stop().await;
}
