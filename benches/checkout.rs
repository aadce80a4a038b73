//! Checkout throughput and latency: how many orders a second the whole shop places, and
//! how long PlaceOrder takes (p50, p99), with a number of buyers checking out at once.
//!
//! Usage: cargo bench --bench checkout --
//!        [--buyers N | --rate N] [--orders N] [--runs N] [--postgres]
//!
//! Two ways to load the shop:
//! - closed loop (default, `--buyers N`): N buyers check out one cart after another, each
//!   starting its next checkout when the previous one answered. It measures the most orders a
//!   second the shop places; latency then grows with the queue the buyers build.
//! - open loop (`--rate N`): a checkout starts every 1/N s, whether earlier ones answered or
//!   not, and each latency counts from the moment its checkout was due, not from when it was
//!   sent, so a shop that falls behind shows it in its p99 (no coordinated omission). It
//!   measures latency at a given load, below the shop's capacity.
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

use bazaar_contract::cart::v1::AddItemRequest;
use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::identity::v1::StartGuestSessionRequest;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
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
    /// Open loop: checkouts started per second, whatever the answers.
    rate: Option<f64>,
    orders: usize,
    runs: usize,
    postgres: bool,
}

impl Settings {
    fn from_args() -> Self {
        let mut settings = Self {
            buyers: 8,
            rate: None,
            orders: 200,
            runs: 5,
            postgres: false,
        };
        support::parse(
            "cargo bench --bench checkout -- [--buyers N | --rate N] [--orders N] [--runs N] [--postgres]",
            |flag, flags| {
                match flag {
                    "--buyers" => settings.buyers = flags.positive(flag)?,
                    "--rate" => settings.rate = Some(flags.positive(flag)? as f64),
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
    let load = match settings.rate {
        Some(rate) => format!("open loop at {rate} orders/s offered"),
        None => format!("{} buyers at once", settings.buyers),
    };
    println!(
        "checkout: {load}, {} orders a run, {} runs (+1 warm-up), store {}",
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

/// Fills `orders` carts, then checks them out (closed or open loop), timing each PlaceOrder.
async fn measure(shop: &Shop, settings: &Settings) -> Run {
    // One connection to each service for all the carts: a TLS handshake per cart would
    // cost more than filling it.
    let mut identity = IdentityServiceClient::new(shop.channel("identity"));
    let mut cart = CartServiceClient::new(shop.channel("cart"));
    let mut carts = Vec::with_capacity(settings.orders);
    for i in 0..settings.orders {
        let session = identity
            .start_guest_session(StartGuestSessionRequest {})
            .await
            .expect("a guest session")
            .into_inner()
            .session
            .expect("the response carries the session");
        let token = Token(session.access_token);
        for (product, quantity) in [
            (PRODUCTS[i % PRODUCTS.len()], 1),
            (PRODUCTS[(i + 1) % PRODUCTS.len()], 2),
        ] {
            cart.add_item(token.request(AddItemRequest {
                request_id: buyer::unique("add"),
                product_id: product.to_owned(),
                quantity,
            }))
            .await
            .unwrap_or_else(|s| panic!("adding {product} to the cart failed: {s:?}"));
        }
        carts.push(token);
    }
    let orders = OrdersServiceClient::new(shop.channel("orders"));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    match settings.rate {
        Some(rate) => {
            // Each checkout is due at its own time on a fixed schedule, and sent then by a
            // task of its own, however many earlier ones are still waiting.
            let interval = Duration::from_secs_f64(1.0 / rate);
            let schedule = tokio::time::Instant::from_std(started);
            for (i, token) in carts.into_iter().enumerate() {
                let due = schedule + interval.mul_f64(i as f64);
                tokio::time::sleep_until(due).await;
                let orders = orders.clone();
                workers
                    .spawn(async move { vec![check_out_one(orders, token, due.into_std()).await] });
            }
        }
        None => {
            let queue = Arc::new(Mutex::new(carts));
            for _ in 0..settings.buyers {
                workers.spawn(check_out(orders.clone(), queue.clone()));
            }
        }
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
    orders: OrdersServiceClient<Channel>,
    queue: Arc<Mutex<Vec<Token>>>,
) -> Vec<(Duration, bool)> {
    let mut results = Vec::new();
    loop {
        let Some(token) = queue.lock().expect("the queue lock").pop() else {
            return results;
        };
        results.push(check_out_one(orders.clone(), token, Instant::now()).await);
    }
}

/// Checks out the cart of `token`: the latency since `due`, and whether the order was
/// PLACED.
async fn check_out_one(
    mut orders: OrdersServiceClient<Channel>,
    token: Token,
    due: Instant,
) -> (Duration, bool) {
    let mut request = token.request(buyer::order_request(
        &buyer::unique("bench"),
        GOOD_CARD,
        "EUR",
    ));
    request.set_timeout(Duration::from_secs(30));
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
    (due.elapsed(), placed)
}
