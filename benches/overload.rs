//! Shedding instead of queueing: currency offered more than it can serve, with the adaptive
//! concurrency limit and, in the same run, without it.
//!
//! Usage: cargo bench --bench overload -- [--runs N] [--seconds S] [--overload X]
//!        [--connections N] [--in-flight N]
//!
//! Two currency servers run in this process, each the real service on the chassis over
//! TLS (test PKI), each on a single-threaded runtime of its own (one core's worth of
//! server): the *reference* with the adaptive limit off and a ceiling nobody reaches (every
//! call is admitted and waits its turn, as a server without a limit does), and the
//! *limited* one with the adaptive limit on and the shop's ceiling. The client is one more
//! thread and calls through the chassis' own client stack (`chassis::client::Upstream`:
//! deadlines, retries under a budget, client-side throttling, the balancer), as every
//! service of the shop calls another. On a machine with two cores or more, the server
//! threads are pinned to the first core and the client to the second (with `taskset`), so
//! the client's work does not eat the server's core; the first lines say whether they
//! were.
//!
//! Each run, for each server: the unloaded latency (one call at a time), the capacity
//! (closed loop, `--in-flight` calls over `--connections` connections), then `--overload`
//! times the reference's capacity offered **open loop**: calls start on a fixed schedule
//! whatever happened to earlier ones, and each latency is counted from its scheduled start,
//! so time spent queueing anywhere (client, sockets, server) is in it. It prints the
//! admitted calls' p50/p99 and their ratio to the unloaded p50, the goodput (calls that
//! succeeded before the phase ended, per second, as % of the reference's capacity), the refusals and how fast they came, and the
//! rate the client actually offered. The servers alternate order each run; the last lines
//! are medians over the runs. Read medians and ratios: this machine is shared.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bazaar_contract::currency::v1::ConvertRequest;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::types::v1::Money;
use chassis::client::Upstream;
use chassis::tls::Tls;
use chassis::{ServerArgs, Shutdown};
use tokio::task::JoinSet;
use tonic::Code;

struct Settings {
    runs: usize,
    seconds: f64,
    overload: f64,
    connections: usize,
    in_flight: usize,
}

impl Settings {
    fn from_args() -> Result<Self, String> {
        let mut settings = Self {
            runs: 3,
            seconds: 5.0,
            overload: 1.7,
            connections: 4,
            in_flight: 64,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<f64, String> {
                args.next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|n| *n > 0.0)
                    .ok_or_else(|| format!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--runs" => settings.runs = number("--runs")? as usize,
                "--seconds" => settings.seconds = number("--seconds")?,
                "--overload" => settings.overload = number("--overload")?,
                "--connections" => settings.connections = number("--connections")? as usize,
                "--in-flight" => settings.in_flight = number("--in-flight")? as usize,
                // `cargo bench` passes --bench to every bench target.
                "--bench" => {}
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        settings.runs = settings.runs.max(1);
        settings.connections = settings.connections.max(1);
        Ok(settings)
    }
}

/// A currency server on a single-threaded runtime of its own.
struct Server {
    label: &'static str,
    address: std::net::SocketAddr,
    shutdown: Shutdown,
    thread: std::thread::JoinHandle<()>,
}

impl Server {
    fn start(label: &'static str, adaptive: bool, max_in_flight: usize) -> Self {
        let (bound, address) = mpsc::channel();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let thread = std::thread::spawn(move || {
            println!("{}", pin_to(0, &format!("{label} server")));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let data = tempfile::tempdir().expect("a temporary directory");
                let mut server = ServerArgs::for_tests(data.path());
                server.adaptive_limit = adaptive;
                server.max_in_flight = max_in_flight;
                server.max_concurrent_streams = 1_000;
                let config = currency::Config { server };
                let service = chassis::service::Bound::<currency::Currency>::bind(&config)
                    .await
                    .expect("currency binds");
                bound
                    .send(service.local_addr())
                    .expect("the bench waits for the address");
                service.run(stop).await.expect("currency serves");
            });
        });
        let address = address.recv().expect("currency starts");
        Self {
            label,
            address,
            shutdown,
            thread,
        }
    }

    /// The chassis' client to this server over `connections` connections (the balancer sees
    /// each as a replica), connected before it is returned.
    async fn connect(&self, connections: usize) -> Upstream {
        let tls = Tls::client(&chassis::pki::for_tests().ca_cert(), None).expect("the test CA");
        let addresses = vec![self.address.to_string(); connections];
        let upstream = Upstream::connect("currency", &addresses, Duration::from_secs(10), &tls)
            .expect("valid addresses");
        for _ in 0..connections * 4 {
            convert(upstream.clone()).await.expect("currency answers");
        }
        upstream
    }

    fn stop(self) {
        self.shutdown.trigger();
        self.thread.join().expect("the server thread ends");
    }
}

/// Pins the calling thread to core `cpu` with `taskset` when the machine has more than one
/// core, and says what it did.
fn pin_to(cpu: usize, what: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        return format!("{what}: not pinned (one core)");
    }
    // `/proc/thread-self` links to `<pid>/task/<tid>`.
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| Some(link.file_name()?.to_str()?.to_owned()));
    let Some(tid) = tid else {
        return format!("{what}: not pinned (no /proc/thread-self)");
    };
    let pinned = std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &tid])
        .output();
    match pinned {
        Ok(output) if output.status.success() => format!("{what}: pinned to cpu {cpu}"),
        Ok(output) => format!(
            "{what}: not pinned (taskset: {})",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("{what}: not pinned (taskset: {error})"),
    }
}

fn request() -> tonic::Request<ConvertRequest> {
    let mut request = tonic::Request::new(ConvertRequest {
        amount: Some(Money {
            currency_code: "USD".to_owned(),
            units: 19,
            nanos: 990_000_000,
        }),
        to_currency_code: "EUR".to_owned(),
    });
    request.set_timeout(Duration::from_secs(10));
    request
}

/// How a call failed: its code, and whether the client's throttle kept it from being sent.
#[derive(Clone, Copy, Debug)]
struct Failed {
    code: Code,
    not_sent: bool,
}

async fn convert(channel: Upstream) -> Result<(), Failed> {
    CurrencyServiceClient::new(channel)
        .convert(request())
        .await
        .map(drop)
        .map_err(|status| Failed {
            code: status.code(),
            not_sent: status.message().starts_with("not sent:"),
        })
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The median latency of calls made one at a time.
async fn unloaded_p50(channel: &Upstream) -> Duration {
    for _ in 0..300 {
        let _ = convert(channel.clone()).await;
    }
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        convert(channel.clone())
            .await
            .expect("unloaded calls succeed");
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    quantile(&samples, 0.5)
}

/// Calls that succeed per second with `in_flight` calls always outstanding.
async fn capacity(channel: &Upstream, in_flight: usize, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut workers = JoinSet::new();
    for _ in 0..in_flight {
        let channel = channel.clone();
        workers.spawn(async move {
            let mut succeeded = 0u64;
            while Instant::now() < until {
                if convert(channel.clone()).await.is_ok() {
                    succeeded += 1;
                }
            }
            succeeded
        });
    }
    let mut total = 0;
    while let Some(succeeded) = workers.join_next().await {
        total += succeeded.expect("a worker does not panic");
    }
    total as f64 / seconds
}

/// What an open-loop phase saw.
struct Open {
    offered_per_s: f64,
    admitted: Vec<Duration>,
    /// Calls that succeeded before the phase ended.
    succeeded_in_time: usize,
    refused: Vec<Duration>,
    /// Refusals the server made (the others the client's throttle made).
    refused_by_server: usize,
    other_errors: usize,
    seconds: f64,
}

/// `rate` calls a second for `seconds`, each started on schedule; latency from the
/// scheduled start.
async fn open_loop(channel: &Upstream, rate: f64, seconds: f64) -> Open {
    let total = (rate * seconds) as u64;
    let start = Instant::now() + Duration::from_millis(5);
    let mut calls = JoinSet::new();
    let mut sent = 0u64;
    let mut open = Open {
        offered_per_s: 0.0,
        admitted: Vec::with_capacity(total as usize),
        succeeded_in_time: 0,
        refused: Vec::new(),
        refused_by_server: 0,
        other_errors: 0,
        seconds,
    };
    let end = start + Duration::from_secs_f64(seconds);
    let record =
        |open: &mut Open, (scheduled, latency, result): (Instant, Duration, Result<(), Failed>)| {
            match result {
                Ok(()) => {
                    open.admitted.push(latency);
                    if scheduled + latency <= end {
                        open.succeeded_in_time += 1;
                    }
                }
                Err(failed) if failed.code == Code::ResourceExhausted => {
                    open.refused.push(latency);
                    open.refused_by_server += usize::from(!failed.not_sent);
                }
                Err(_) => open.other_errors += 1,
            }
        };
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let scheduled = start + Duration::from_secs_f64(sent as f64 / rate);
            let channel = channel.clone();
            calls.spawn(async move {
                let result = convert(channel).await;
                (scheduled, scheduled.elapsed(), result)
            });
            sent += 1;
        }
        while let Some(done) = calls.try_join_next() {
            record(&mut open, done.expect("a call task does not panic"));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    open.offered_per_s = sent as f64 / start.elapsed().as_secs_f64();
    while let Some(done) = calls.join_next().await {
        record(&mut open, done.expect("a call task does not panic"));
    }
    open.admitted.sort_unstable();
    open.refused.sort_unstable();
    open
}

/// One server's figures in one run.
#[derive(Default)]
struct Figures {
    unloaded_p50_us: f64,
    capacity: f64,
    offered: f64,
    admitted_p50_us: f64,
    admitted_p99_us: f64,
    goodput_pct: f64,
    refused: f64,
    refused_by_server: f64,
    refusal_p50_us: f64,
    refusal_p99_us: f64,
    other_errors: f64,
}

impl Figures {
    fn print(&self, label: &str) {
        println!(
            "  {label:<9} unloaded p50 {:>7.0} us | capacity {:>7.0}/s | offered {:>7.0}/s | admitted p50 {:>9.0} us p99 {:>9.0} us ({:>6.1}x unloaded p50) | goodput {:>5.1} % | refused {:>7.0}, {:>6.0} by the server (p50 {:>7.0} us, p99 {:>7.0} us) | other errors {:.0}",
            self.unloaded_p50_us,
            self.capacity,
            self.offered,
            self.admitted_p50_us,
            self.admitted_p99_us,
            self.admitted_p99_us / self.unloaded_p50_us,
            self.goodput_pct,
            self.refused,
            self.refused_by_server,
            self.refusal_p50_us,
            self.refusal_p99_us,
            self.other_errors,
        );
    }

    fn median_of(all: &[Figures]) -> Figures {
        let pick = |field: fn(&Figures) -> f64| {
            let mut values: Vec<f64> = all.iter().map(field).collect();
            median(&mut values)
        };
        Figures {
            unloaded_p50_us: pick(|f| f.unloaded_p50_us),
            capacity: pick(|f| f.capacity),
            offered: pick(|f| f.offered),
            admitted_p50_us: pick(|f| f.admitted_p50_us),
            admitted_p99_us: pick(|f| f.admitted_p99_us),
            goodput_pct: pick(|f| f.goodput_pct),
            refused: pick(|f| f.refused),
            refused_by_server: pick(|f| f.refused_by_server),
            refusal_p50_us: pick(|f| f.refusal_p50_us),
            refusal_p99_us: pick(|f| f.refusal_p99_us),
            other_errors: pick(|f| f.other_errors),
        }
    }
}

fn main() {
    let settings = match Settings::from_args() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("overload: {error}");
            std::process::exit(2);
        }
    };
    let servers = [
        Server::start("reference", false, 1_000_000),
        Server::start("limited", true, ServerArgs::for_tests(".").max_in_flight),
    ];
    println!("{}", pin_to(1, "client"));
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "overload: currency Convert over TLS, each server on one thread; {} run(s); {} s per phase; {}x capacity offered open loop; {} in flight over {} connections for capacity",
        settings.runs,
        settings.seconds,
        settings.overload,
        settings.in_flight,
        settings.connections
    );
    let mut results: [Vec<Figures>; 2] = [Vec::new(), Vec::new()];
    client.block_on(async {
        let channels = [
            servers[0].connect(settings.connections).await,
            servers[1].connect(settings.connections).await,
        ];
        for run in 0..settings.runs {
            let mut figures: [Figures; 2] = Default::default();
            let order: [usize; 2] = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for &side in &order {
                figures[side].unloaded_p50_us = us(unloaded_p50(&channels[side]).await);
                figures[side].capacity =
                    capacity(&channels[side], settings.in_flight, settings.seconds).await;
                tokio::time::sleep(chassis::throttle::WINDOW * 2).await;
            }
            // Both are offered the same rate: a multiple of the reference's capacity.
            let reference_capacity = figures[0].capacity;
            let rate = reference_capacity * settings.overload;
            for &side in &order {
                let open = open_loop(&channels[side], rate, settings.seconds).await;
                let f = &mut figures[side];
                f.offered = open.offered_per_s;
                f.admitted_p50_us = us(quantile(&open.admitted, 0.5));
                f.admitted_p99_us = us(quantile(&open.admitted, 0.99));
                f.goodput_pct =
                    open.succeeded_in_time as f64 / open.seconds / reference_capacity * 100.0;
                f.refused = open.refused.len() as f64;
                f.refused_by_server = open.refused_by_server as f64;
                f.refusal_p50_us = us(quantile(&open.refused, 0.5));
                f.refusal_p99_us = us(quantile(&open.refused, 0.99));
                f.other_errors = open.other_errors as f64;
                // Let whatever queued drain, and the client's throttle forget the phase's
                // refusals, before the next phase.
                tokio::time::sleep(Duration::from_secs(1) + chassis::throttle::WINDOW * 2).await;
            }
            println!("run {}:", run + 1);
            for (side, f) in figures.iter().enumerate() {
                f.print(servers[side].label);
            }
            for (side, f) in figures.into_iter().enumerate() {
                results[side].push(f);
            }
        }
    });
    println!(
        "medians over {} run(s) (goodput is % of the reference's capacity):",
        settings.runs
    );
    for (side, all) in results.iter().enumerate() {
        Figures::median_of(all).print(servers[side].label);
    }
    for server in servers {
        server.stop();
    }
}
