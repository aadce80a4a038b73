//! What metrics cost a service at saturation: the throughput of a leaf RPC (currency
//! `GetCurrency`) over mutual TLS with many callers at once, in a process with metrics on
//! (an admin listener, so the recorder is installed and every call is counted and timed)
//! and in one with `--admin-listen off` (no recorder: the facade's no-op).
//!
//! Usage: cargo bench -p bazaar --bench metrics -- [--callers N] [--connections N]
//!        [--seconds S] [--rounds N]
//!
//! Each side is its own `bazaar serve currency` process (the recorder is global to a
//! process, so this is the honest way to have one without it). The rounds alternate between
//! the two, so that whatever else the machine is doing weighs on both alike; each round
//! prints its calls per second, and the last line gives the medians over the rounds and the
//! cost: 1 - on / off. The callers run in this process on their own runtime, the same for
//! both sides; read medians (this machine is shared).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bazaar_contract::currency::v1::GetCurrencyRequest;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use chassis::tls::Tls;
use tonic::transport::Channel;

struct Settings {
    callers: usize,
    connections: usize,
    seconds: u64,
    rounds: usize,
}

impl Settings {
    fn from_args() -> Result<Self, String> {
        let mut settings = Self {
            callers: 64,
            connections: 4,
            seconds: 3,
            rounds: 5,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<usize, String> {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--callers" => settings.callers = number("--callers")?,
                "--connections" => settings.connections = number("--connections")?,
                "--seconds" => settings.seconds = number("--seconds")? as u64,
                "--rounds" => settings.rounds = number("--rounds")?,
                // `cargo bench` passes --bench to every bench target.
                "--bench" => {}
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(settings)
    }
}

/// One `bazaar serve currency` process, stopped when dropped.
struct Side {
    label: &'static str,
    addr: SocketAddr,
    child: Child,
}

impl Drop for Side {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
}

/// Starts currency with `admin_listen` (`off`, or an address).
fn spawn(label: &'static str, admin_listen: &str, data: &std::path::Path) -> Side {
    let addr = free_address();
    let child = Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["serve", "currency", "--listen"])
        .arg(addr.to_string())
        .arg("--admin-listen")
        .arg(admin_listen)
        .arg("--pki-dir")
        .arg(chassis::pki::for_tests().dir())
        .arg("--data-dir")
        .arg(data.join(label))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bazaar serve currency starts");
    Side { label, addr, child }
}

async fn connect(side: &Side, tls: &Tls) -> Channel {
    let endpoint = tls
        .endpoint(&side.addr.to_string())
        .expect("a socket address is a valid endpoint");
    for _ in 0..200 {
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} does not accept connections", side.label);
}

async fn get_currency(channel: Channel) -> bool {
    CurrencyServiceClient::new(channel)
        .get_currency(GetCurrencyRequest {
            code: "EUR".to_owned(),
        })
        .await
        .is_ok()
}

/// `callers` callers spread over `connections` connections, calling back to back for
/// `seconds`: completed calls per second.
async fn saturate(side: &Side, tls: &Tls, settings: &Settings) -> f64 {
    let mut channels = Vec::with_capacity(settings.connections);
    for _ in 0..settings.connections {
        channels.push(connect(side, tls).await);
    }
    for channel in &channels {
        assert!(
            get_currency(channel.clone()).await,
            "{} answers",
            side.label
        );
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = tokio::task::JoinSet::new();
    let started = Instant::now();
    for caller in 0..settings.callers {
        let channel = channels[caller % channels.len()].clone();
        let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
        callers.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if get_currency(channel.clone()).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(settings.seconds)).await;
    let calls = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    while callers.join_next().await.is_some() {}
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        println!("  ({} calls failed on {}: not counted)", failed, side.label);
    }
    calls as f64 / elapsed.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let settings = match Settings::from_args() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("metrics bench: {message}");
            std::process::exit(2);
        }
    };
    let data = tempfile::tempdir().expect("a temporary directory");
    let admin = free_address().to_string();
    let sides = [
        spawn("metrics on", &admin, data.path()),
        spawn("metrics off", "off", data.path()),
    ];
    let tls = chassis::testing::client_tls(Some(chassis::pki::OPERATOR));
    println!(
        "GetCurrency at saturation over mutual TLS: {} callers on {} connections, {} s per round, {} rounds",
        settings.callers, settings.connections, settings.seconds, settings.rounds
    );
    let mut rates = [Vec::new(), Vec::new()];
    for round in 1..=settings.rounds {
        // Alternate which side goes first, so neither always runs on a warmer machine.
        let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for i in order {
            let rate = saturate(&sides[i], &tls, &settings).await;
            println!("round {round} {:<12} {rate:>10.0} calls/s", sides[i].label);
            rates[i].push(rate);
        }
    }
    // The side with metrics on must really have them: its /metrics counted the calls.
    let scraped = scrape_count(admin.parse().expect("an address")).await;
    println!("metrics on: /metrics counted {scraped} GetCurrency calls handled OK");
    let (on, off) = (median(&mut rates[0]), median(&mut rates[1]));
    println!(
        "median over rounds: on {on:.0} calls/s, off {off:.0} calls/s, on/off {:.3}, cost {:.1} %",
        on / off,
        (1.0 - on / off) * 100.0
    );
}

/// The `grpc_server_handled_total` of `GetCurrency`, code OK, at `admin`.
async fn scrape_count(admin: SocketAddr) -> f64 {
    let scrape = chassis::testing::metrics::Scrape::of(admin).await;
    scrape.value(
        "grpc_server_handled_total",
        &[
            ("grpc_type", "unary"),
            ("grpc_service", "bazaar.currency.v1.CurrencyService"),
            ("grpc_method", "GetCurrency"),
            ("grpc_code", "OK"),
        ],
    )
}
