//! Checkout throughput and latency: how many orders a second the whole shop places, and
//! how long PlaceOrder takes (p50, p99), with a number of buyers checking out at once.
//!
//! Usage: cargo bench --bench checkout -- [--buyers N] [--orders N] [--runs N] [--postgres]
//!
//! All ten services run in this process (bazaar-testkit: each on its own runtime and
//! port, talking real gRPC over loopback), on SQLite files, or on PostgreSQL with
//! `--postgres` (and `BAZAAR_TEST_POSTGRES_URL` set). Carts are filled before the clock
//! starts; each timed call is a whole saga: cart read, pricing (catalog, currency,
//! shipping quote), reservation, charge, shipment, commit, outbox event, cart emptied.
//! One warm-up run is not counted; then each run prints its figures, and the last lines
//! give the medians over the runs (this machine is shared: read medians, not one run).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{Order, OrderState};
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::{self, GOOD_CARD, Token};
use tokio::task::JoinSet;
use tonic::transport::Channel;

mod support;

const PRODUCTS: &[&str] = &[
    "brass-desk-lamp",
    "ceramic-coffee-mug",
    "cast-iron-skillet",
    "linen-tea-towels",
    "glass-storage-jars",
    "wooden-cutting-board",
];

struct Settings {
    buyers: usize,
    orders: usize,
    runs: usize,
    postgres: bool,
}

impl Settings {
    fn from_args() -> Self {
        let mut settings = Self {
            buyers: 8,
            orders: 200,
            runs: 5,
            postgres: false,
        };
        support::parse(
            "cargo bench --bench checkout -- [--buyers N] [--orders N] [--runs N] [--postgres]",
            |flag, flags| {
                match flag {
                    "--buyers" => settings.buyers = flags.positive(flag)?,
                    "--orders" => settings.orders = flags.positive(flag)?,
                    "--runs" => settings.runs = flags.positive(flag)?,
                    "--postgres" => settings.postgres = true,
                    other => return Err(format!("unknown argument {other:?}")),
                }
                Ok(())
            },
        );
        settings
    }
}

/// One run's figures.
struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let settings = Settings::from_args();
    let Some(shop) = Shop::builder("checkout benchmark")
        .postgres_if(settings.postgres)
        .start()
        .await
    else {
        std::process::exit(1);
    };
    let admin = buyer::admin(&shop).await;
    for product in PRODUCTS {
        buyer::restock(&shop, &admin, product, 1_000_000).await;
    }
    println!(
        "checkout: {} buyers at once, {} orders a run, {} runs (+1 warm-up), store {}",
        settings.buyers,
        settings.orders,
        settings.runs,
        if settings.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    let mut runs = Vec::new();
    for run in 0..=settings.runs {
        let figures = measure(&shop, &settings).await;
        if run == 0 {
            println!("warm-up   {}", describe(&figures));
            continue;
        }
        println!("run {run:<5} {}", describe(&figures));
        runs.push(figures);
    }
    let median = |mut values: Vec<f64>| support::median(&mut values);
    println!(
        "median    {:.1} orders/s, p50 {:.1} ms, p99 {:.1} ms",
        median(runs.iter().map(|r| r.per_second).collect()),
        median(runs.iter().map(|r| ms(r.p50)).collect()),
        median(runs.iter().map(|r| ms(r.p99)).collect()),
    );
    shop.shutdown().await;
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn describe(run: &Run) -> String {
    format!(
        "{:.1} orders/s, p50 {:.1} ms, p99 {:.1} ms, {} not placed",
        run.per_second,
        ms(run.p50),
        ms(run.p99),
        run.failed
    )
}

/// Fills `orders` carts, then has `buyers` tasks check them out, timing each PlaceOrder.
async fn measure(shop: &Shop, settings: &Settings) -> Run {
    let mut carts = Vec::with_capacity(settings.orders);
    for i in 0..settings.orders {
        let token = buyer::guest(shop).await;
        buyer::add_to_cart(shop, &token, PRODUCTS[i % PRODUCTS.len()], 1).await;
        buyer::add_to_cart(shop, &token, PRODUCTS[(i + 1) % PRODUCTS.len()], 2).await;
        carts.push(token);
    }
    let queue = Arc::new(Mutex::new(carts));
    let orders = OrdersServiceClient::new(shop.channel("orders"));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..settings.buyers {
        workers.spawn(check_out(orders.clone(), queue.clone()));
    }
    let mut latencies = Vec::with_capacity(settings.orders);
    let mut failed = 0;
    while let Some(done) = workers.join_next().await {
        for (latency, placed) in done.expect("a buyer task ends normally") {
            latencies.push(latency);
            failed += usize::from(!placed);
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    Run {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        failed,
    }
}

/// Checks out carts from `queue` until it is empty: each call's latency, and whether the
/// order was PLACED.
async fn check_out(
    mut orders: OrdersServiceClient<Channel>,
    queue: Arc<Mutex<Vec<Token>>>,
) -> Vec<(Duration, bool)> {
    let mut results = Vec::new();
    loop {
        let Some(token) = queue.lock().expect("the queue lock").pop() else {
            return results;
        };
        let mut request = token.request(buyer::order_request(
            &buyer::unique("bench"),
            GOOD_CARD,
            "EUR",
        ));
        request.set_timeout(Duration::from_secs(30));
        let started = Instant::now();
        let answer = orders.place_order(request).await;
        let placed = matches!(
            answer
                .as_ref()
                .map(|r| r.get_ref().order.as_ref().map(Order::state)),
            Ok(Some(OrderState::Placed))
        );
        if let Err(status) = &answer {
            eprintln!("PlaceOrder failed: {status:?}");
        }
        results.push((started.elapsed(), placed));
    }
}
