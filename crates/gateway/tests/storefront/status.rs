//! The status page and `/api/v1/status` read every service's real admin listener: the
//! gateway scrapes them every 500 ms in tests, and the figures, graphs, orders, consumer
//! lag and the dependency map follow what the services' metrics say, including a service
//! that is stopped and one that serves no metrics.

use std::time::Duration;

use hyper::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Storefront, record_calls};

/// The `metrics` entry of `service` in a status answer.
fn vitals_of<'a>(answer: &'a Value, service: &str) -> &'a Value {
    answer["metrics"]["services"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == service))
        .unwrap_or_else(|| panic!("no metrics of {service} in {answer}"))
}

/// Polls the status API until `ready` holds (up to 20 s), while `traffic` keeps counting.
async fn status_when(
    store: &Storefront,
    traffic: impl Fn(),
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let mut browser = store.browser();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        traffic();
        let answer = browser
            .api(Method::GET, "/api/v1/status", None, None)
            .await
            .json();
        if ready(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the status never got there: {answer:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `<tr>` of `service` in the vital-signs table of `page`.
fn vitals_row<'a>(page: &'a str, service: &str) -> &'a str {
    let table = &page[page.find("id=\"vitals\"").expect("the vitals table")..];
    let start = table
        .find(&format!("<tr data-service=\"{service}\">"))
        .unwrap_or_else(|| panic!("no vitals row for {service}"));
    let row = &table[start..];
    &row[..row.find("</tr>").expect("the row ends")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_draws_calls_errors_latency_orders_lag_and_the_map() {
    let store = Storefront::start("gateway_status_vitals").await;
    // Real traffic through the storefront, and catalogue-named counts beside it.
    let mut browser = store.browser();
    assert_eq!(browser.get("/").await.status, 200);
    let traffic = || {
        record_calls("catalog", "ListProducts", "OK", 0.004, 9);
        record_calls("catalog", "ListProducts", "Internal", 0.2, 1);
        metrics::counter!("bazaar_orders_total", "state" => "placed").increment(1);
        metrics::gauge!("bazaar_outbox_head").set(12.0);
        metrics::gauge!("bazaar_consumer_position", "consumer" => "status-test").set(9.0);
    };
    let answer = status_when(&store, traffic, |answer| {
        let catalog = vitals_of(answer, "catalog");
        catalog["requests_per_second"].as_f64().unwrap_or(0.0) > 0.0
            && catalog["error_ratio"].as_f64().unwrap_or(0.0) > 0.0
            && catalog["p99_seconds"].is_number()
            && answer["metrics"]["orders_per_minute"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["state"] == "placed"))
    })
    .await;
    let catalog = vitals_of(&answer, "catalog");
    assert_eq!(catalog["metrics"], "scraped");
    assert_eq!(
        catalog["metrics_address"],
        store.shop.admin_addr("catalog").to_string()
    );
    let ratio = catalog["error_ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    let p50 = catalog["p50_seconds"].as_f64().unwrap();
    let p99 = catalog["p99_seconds"].as_f64().unwrap();
    assert!(p50 <= p99, "p50 {p50} > p99 {p99}");
    let lag = answer["metrics"]["consumers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["consumer"] == "status-test"))
        .expect("the consumer's position");
    let (head, position) = (
        lag["head"].as_f64().unwrap(),
        lag["position"].as_f64().unwrap(),
    );
    assert_eq!(lag["lag"].as_f64().unwrap(), (head - position).max(0.0));
    // Every service is scraped at its own admin listener.
    for spec in chassis::topology::grpc_services() {
        assert_eq!(
            vitals_of(&answer, spec.name)["metrics"],
            "scraped",
            "{}",
            spec.name
        );
    }

    let page = browser.get("/status").await;
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let body = &page.body;
    let row = vitals_row(body, "catalog");
    assert!(row.contains("<polyline class=\"first\""), "{row}");
    assert!(row.contains("scraped"), "{row}");
    assert!(body.contains("id=\"dependency-map\""));
    for spec in chassis::topology::SERVICES {
        assert!(
            body.contains(&format!("data-service=\"{}\">\n    <title>", spec.name)),
            "no box for {} on the map",
            spec.name
        );
        for callee in spec.calls {
            assert!(
                body.contains(&format!(
                    "data-caller=\"{}\" data-callee=\"{callee}\"",
                    spec.name
                )),
                "no arrow {} → {callee}",
                spec.name
            );
        }
    }
    assert!(body.contains("<tr data-state=\"placed\">"));
    assert!(body.contains("<tr data-consumer=\"status-test\">"));
    assert!(
        !body.contains(" style="),
        "no inline style: the CSP forbids it"
    );

    // A service stopped: its metrics are unreachable, and it is down on the map, arrows
    // into it too.
    store.shop.stop("recommendation").await;
    let answer = status_when(
        &store,
        || {},
        |answer| vitals_of(answer, "recommendation")["metrics"] == "unreachable",
    )
    .await;
    assert!(
        vitals_of(&answer, "recommendation")["metrics_problem"]
            .as_str()
            .is_some_and(|p| p.contains("cannot reach")),
        "{answer:#}"
    );
    let body = browser.get("/status").await.body;
    assert!(vitals_row(&body, "recommendation").contains("metrics unreachable"));
    assert!(body.contains("<g class=\"node down\" data-service=\"recommendation\">"));
    let arrow_in = body
        .split("<path class=\"edge ")
        .find(|edge| edge.contains("data-callee=\"recommendation\""))
        .expect("an arrow into recommendation");
    assert!(arrow_in.starts_with("down\""), "{arrow_in}");

    store.stop().await;
}

/// Answers every connection with a 200 and an empty body: an admin listener that serves
/// no metrics.
async fn serve_no_metrics() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0_u8; 1024];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_renders_before_any_history_and_without_metrics() {
    let empty = serve_no_metrics().await;
    // Something in every in-process service's /metrics (the recorder is the process's)
    // before the gateway's one scrape.
    chassis::metrics::install();
    record_calls("catalog", "ListProducts", "OK", 0.01, 1);
    let store = Storefront::start_with("gateway_status_no_history", |config| {
        // One scrape at start, the next an hour later: no history to draw.
        config.status_scrape_ms = 3_600_000;
        config.set_admin_addr("currency", empty.clone());
    })
    .await;
    let answer = status_when(
        &store,
        || {},
        |answer| {
            vitals_of(answer, "currency")["metrics"] == "empty"
                && vitals_of(answer, "catalog")["metrics"] == "scraped"
        },
    )
    .await;
    for spec in chassis::topology::grpc_services() {
        let vitals = vitals_of(&answer, spec.name);
        assert!(vitals["requests_per_second"].is_null(), "{vitals}");
        assert!(vitals["p99_seconds"].is_null(), "{vitals}");
    }
    assert_eq!(
        answer["metrics"]["orders_per_minute"],
        serde_json::json!([])
    );

    let page = store.browser().get("/status").await;
    assert_eq!(page.status, 200);
    assert!(vitals_row(&page.body, "currency").contains("serves no metrics"));
    let catalog = vitals_row(&page.body, "catalog");
    assert!(catalog.contains("no data yet"), "{catalog}");
    assert!(!catalog.contains("<polyline"), "{catalog}");
    assert!(page.body.contains("id=\"no-orders-rate\""));
    assert!(page.body.contains("id=\"dependency-map\""));

    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_show_on_the_status_page_and_in_the_api() {
    let store = Storefront::start("gateway_status_faults").await;
    // As the chassis's fault layer exports them (every service of the in-process shop
    // shares this recorder, so each reports the same faults).
    let traffic = || {
        metrics::gauge!("bazaar_chaos_faults_active", "grpc_method" => "Charge", "fault" => "Unavailable")
            .set(0.25);
        metrics::gauge!("bazaar_chaos_faults_active", "grpc_method" => "*", "fault" => "latency")
            .set(0.0);
    };
    let answer = status_when(&store, traffic, |answer| {
        answer["metrics"]["faults"]
            .as_array()
            .is_some_and(|faults| faults.iter().any(|f| f["service"] == "payment"))
    })
    .await;
    let faults = answer["metrics"]["faults"].as_array().unwrap();
    let payment: Vec<&Value> = faults
        .iter()
        .filter(|f| f["service"] == "payment")
        .collect();
    assert_eq!(
        payment.len(),
        1,
        "a fault at rate 0 is not in force: {faults:?}"
    );
    assert_eq!(payment[0]["method"], "Charge");
    assert_eq!(payment[0]["fault"], "Unavailable");
    assert_eq!(payment[0]["rate"], 0.25);

    let page = store.browser().get("/status").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    let block = &body[body
        .find("id=\"faults-injected\"")
        .expect("the faults block")..];
    assert!(block.contains("Faults injected"), "{block}");
    assert!(
        block.contains(
            "<tr data-service=\"payment\" data-method=\"Charge\" data-fault=\"Unavailable\">"
        ),
        "{block}"
    );
    assert!(block.contains("25.0 %"), "{block}");
}
