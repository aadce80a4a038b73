//! What mutual TLS costs a call: the same unary call (catalog `GetProduct`) over TLS and over
//! plaintext, on a warm connection, and the cost of a fresh connection (TCP connect, the
//! handshake when there is one, and the first call on it).
//!
//! Usage: cargo bench --bench tls -- [--calls N] [--connections N] [--rounds N]
//!
//! Two shops run in this process (bazaar-testkit), one over TLS with the test PKI, one with
//! `--plaintext`; the client presents the operator certificate over TLS, as an internal
//! caller would. The rounds alternate between the two, so that whatever else the machine
//! is doing weighs on both alike; each round prints its medians, and the last lines give the
//! medians over the rounds and the ratio TLS / plaintext (read medians: this machine is
//! shared).

use std::time::{Duration, Instant};

use bazaar_contract::catalog::v1::GetProductRequest;
use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_testkit::Shop;
use chassis::tls::Tls;
use tonic::transport::Channel;

use support::median;

mod support;

struct Settings {
    calls: usize,
    connections: usize,
    rounds: usize,
}

impl Settings {
    fn from_args() -> Self {
        let mut settings = Self {
            calls: 2_000,
            connections: 200,
            rounds: 5,
        };
        support::parse(
            "cargo bench --bench tls -- [--calls N] [--connections N] [--rounds N]",
            |flag, flags| {
                match flag {
                    "--calls" => settings.calls = flags.positive(flag)?,
                    "--connections" => settings.connections = flags.positive(flag)?,
                    "--rounds" => settings.rounds = flags.positive(flag)?,
                    other => return Err(format!("unknown argument {other:?}")),
                }
                Ok(())
            },
        );
        settings
    }
}

/// One of the two shops, and how to reach its catalog.
struct Side {
    label: &'static str,
    shop: Shop,
    tls: Tls,
}

impl Side {
    fn endpoint(&self) -> tonic::transport::Endpoint {
        self.tls
            .endpoint(&self.shop.addr("catalog").to_string())
            .expect("a socket address is a valid endpoint")
    }

    /// A connection of its own, connected now.
    async fn connect(&self) -> Channel {
        self.endpoint().connect().await.expect("catalog accepts")
    }
}

async fn get_product(channel: Channel) {
    CatalogServiceClient::new(channel)
        .get_product(GetProductRequest {
            product_id: "brass-desk-lamp".to_owned(),
        })
        .await
        .expect("GetProduct answers");
}

/// The median of `samples`, in microseconds.
fn median_us(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// `calls` sequential calls on one warm connection: the median latency.
async fn warm_calls(side: &Side, calls: usize) -> f64 {
    let channel = side.connect().await;
    for _ in 0..50 {
        get_product(channel.clone()).await;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        get_product(channel.clone()).await;
        samples.push(started.elapsed());
    }
    median_us(&mut samples)
}

/// `connections` fresh connections, each connected and used for one call: the median.
async fn fresh_connections(side: &Side, connections: usize) -> f64 {
    let mut samples = Vec::with_capacity(connections);
    for _ in 0..connections {
        let started = Instant::now();
        let channel = side.connect().await;
        get_product(channel).await;
        samples.push(started.elapsed());
    }
    median_us(&mut samples)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let settings = Settings::from_args();
    let tls_shop = Shop::builder("tls bench")
        .start()
        .await
        .expect("a shop on SQLite starts");
    let plain_shop = Shop::builder("tls bench, plaintext")
        .plaintext()
        .start()
        .await
        .expect("a shop on SQLite starts");
    let sides = [
        Side {
            label: "tls",
            shop: tls_shop,
            tls: chassis::testing::client_tls(Some(chassis::pki::OPERATOR)),
        },
        Side {
            label: "plaintext",
            shop: plain_shop,
            tls: Tls::Plaintext,
        },
    ];
    println!(
        "GetProduct: {} calls on a warm connection, {} fresh connections, {} rounds",
        settings.calls, settings.connections, settings.rounds
    );
    let mut warm = [Vec::new(), Vec::new()];
    let mut fresh = [Vec::new(), Vec::new()];
    for round in 1..=settings.rounds {
        for (i, side) in sides.iter().enumerate() {
            let call = warm_calls(side, settings.calls).await;
            let connect = fresh_connections(side, settings.connections).await;
            println!(
                "round {round} {:<9}  warm call p50 {call:>8.1} µs   fresh connection + call p50 {connect:>8.1} µs",
                side.label
            );
            warm[i].push(call);
            fresh[i].push(connect);
        }
    }
    let (warm_tls, warm_plain) = (median(&mut warm[0]), median(&mut warm[1]));
    let (fresh_tls, fresh_plain) = (median(&mut fresh[0]), median(&mut fresh[1]));
    println!("median over rounds:");
    println!(
        "  warm call:                 tls {warm_tls:>8.1} µs   plaintext {warm_plain:>8.1} µs   tls/plaintext {:.2}",
        warm_tls / warm_plain
    );
    println!(
        "  fresh connection + call:   tls {fresh_tls:>8.1} µs   plaintext {fresh_plain:>8.1} µs   tls/plaintext {:.2}",
        fresh_tls / fresh_plain
    );
    println!(
        "  handshake (fresh - warm):  tls {:>8.1} µs   plaintext {:>8.1} µs",
        fresh_tls - warm_tls,
        fresh_plain - warm_plain
    );
    for side in sides {
        side.shop.shutdown().await;
    }
}
