//! A collector that is down never slows or fails a request: spans wait in the bounded
//! export queue, what does not fit is dropped and counted in
//! `bazaar_trace_spans_dropped_total`. Telemetry is global to a process, so this test has
//! a binary of its own.
//!
//! The collector here is the worst kind of down: it accepts connections and never answers,
//! so every export hangs until the exporter's own timeout (10 s) while requests go on.

#[path = "tracing/storefront.rs"]
mod storefront;

use std::time::{Duration, Instant};

use chassis::config::LogFormat;
use chassis::trace::{SPANS_DROPPED, Settings};

use crate::storefront::Storefront;

/// Far more than any request of the storefront takes on loopback, far less than the
/// exporter waits for a collector that does not answer.
const PROMPT: Duration = Duration::from_secs(3);

/// The value of counter `name` in the Prometheus text of this process, 0 when absent.
fn counter(name: &str) -> f64 {
    chassis::metrics::render()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.rsplit_once(' ')?;
            (metric == name).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_stay_prompt_and_spans_are_dropped_and_counted_when_the_collector_hangs() {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    chassis::metrics::install();
    let settings = Settings {
        endpoint,
        service_name: "bazaar-tests".to_owned(),
        queue: 16,
    };
    let exported =
        chassis::telemetry::install(LogFormat::Text, "warn", Some(&settings), std::io::sink)
            .expect("the settings are valid");
    assert!(exported, "no other subscriber is installed in this binary");

    let store = Storefront::start("tracing_collector_down", &[]).await;
    for _ in 0..20 {
        let started = Instant::now();
        let product = store
            .call("GET", "/api/v1/products/brass-desk-lamp", &[], None)
            .await;
        let took = started.elapsed();
        assert_eq!(product.status, 200, "{}", product.body);
        assert_eq!(product.json()["product"]["id"], "brass-desk-lamp");
        assert!(
            product.header("traceresponse").is_some(),
            "the request was traced"
        );
        assert!(
            took < PROMPT,
            "a request took {took:?} while the collector hangs"
        );
    }
    let dropped = counter(SPANS_DROPPED);
    assert!(
        dropped > 0.0,
        "spans beyond the queue of 16 are dropped and counted; {SPANS_DROPPED} = {dropped}"
    );
    store.stop().await;
}
