//! What the chassis costs a leaf call: currency `Convert` served by the chassis (the real
//! `currency` crate, as `bazaar serve currency` runs it) side by side with a bare
//! `tonic::transport::Server` answering the same response, over TLS and over plaintext.
//!
//! Usage: cargo bench -p currency --bench leaf -- [--runs N] [--seconds N] [--in-flight N]
//!        [--connections N] [--compare PATH]
//!
//! Each server runs in a child process of its own (this bench binary again, with `--serve`),
//! pinned with `taskset` to core 1 on a default runtime (one worker, as on a one-core
//! host); the load generator runs here, pinned to core 0 on a current-thread runtime. Two
//! loads are measured: `--in-flight` calls (64) at once over `--connections` connections
//! (4), which finds throughput, and one call at a time on one connection, which finds
//! latency. Each call carries a deadline (`grpc-timeout`), as every call between the shop's
//! services does. Each load is warmed up, then run for `--seconds` (2); the server's CPU
//! time per call is the child's CPU time (`/proc/PID/task/*/schedstat`) over the calls
//! answered.
//!
//! The bare server answers every `Convert` with the response the real service gave to the
//! same request, so both send the same bytes; the difference is the chassis (layers,
//! routes, its accept loop and connection handling, metrics and logging as in production)
//! and currency's own handler. Rows alternate between the sides within each run, so that
//! whatever else the machine does weighs on both alike; the last lines give the medians
//! over `--runs` (5) of each figure and of each run's chassis/bare ratio.
//!
//! `--compare PATH` adds a third side, `PATH serve currency` (another build of the `bazaar`
//! binary, say of main), measured in the same runs, so that a change to the chassis is seen
//! against the same bare reference.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bazaar_contract::currency::v1 as pb;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::currency::v1::currency_service_server::{
    CurrencyService, CurrencyServiceServer,
};
use bazaar_contract::r#type::v1::Money;
use chassis::tls::Tls;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use support::median;

// The flags and medians every bench of the shop shares.
#[path = "../../../benches/support/mod.rs"]
mod support;

/// The core the servers run on; the load generator takes core 0.
const SERVER_CORE: &str = "1";

struct Settings {
    runs: usize,
    seconds: usize,
    in_flight: usize,
    connections: usize,
    compare: Option<PathBuf>,
}

impl Settings {
    fn from_args() -> Self {
        let mut settings = Self {
            runs: 5,
            seconds: 2,
            in_flight: 64,
            connections: 4,
            compare: None,
        };
        support::parse(
            "cargo bench -p currency --bench leaf -- [--runs N] [--seconds N] [--in-flight N] [--connections N] [--compare PATH]",
            |flag, flags| {
                match flag {
                    "--runs" => settings.runs = flags.positive(flag)?,
                    "--seconds" => settings.seconds = flags.positive(flag)?,
                    "--in-flight" => settings.in_flight = flags.positive(flag)?,
                    "--connections" => settings.connections = flags.positive(flag)?,
                    "--compare" => settings.compare = Some(flags.value(flag)?.into()),
                    other => return Err(format!("unknown argument {other:?}")),
                }
                Ok(())
            },
        );
        settings
    }
}

/// The request every call sends.
fn convert_request() -> pb::ConvertRequest {
    pb::ConvertRequest {
        amount: Some(Money {
            currency_code: "USD".to_owned(),
            units: 129,
            nanos: 990_000_000,
        }),
        to_currency_code: "EUR".to_owned(),
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|first| first == "--serve") {
        serve(&args.collect::<Vec<_>>());
        return;
    }
    let settings = Settings::from_args();
    pin_this_process("0");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the load generator");
    runtime.block_on(bench(&settings));
}

/// Pins every thread of this process to `cores` (a `taskset` list).
fn pin_this_process(cores: &str) {
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", cores, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    if !pinned.is_ok_and(|status| status.success()) {
        eprintln!("leaf bench: taskset could not pin the load generator; figures will be noisier");
    }
}

/// Which server a child runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chassis,
    Bare,
    /// `bazaar serve currency` of the `--compare` binary.
    Compared,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Chassis => "chassis",
            Kind::Bare => "bare",
            Kind::Compared => "compared",
        }
    }
}

/// A server in a child process, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts a `kind` server pinned to [`SERVER_CORE`] and waits for its address.
    fn start(kind: Kind, plaintext: bool, pki: &Path) -> Self {
        let exe = std::env::current_exe().expect("the bench knows its own path");
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(SERVER_CORE)
            .arg(exe)
            .arg("--serve")
            .arg(kind.label())
            .arg(pki)
            .arg(if plaintext { "plaintext" } else { "tls" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Self::spawn(kind, command)
    }

    /// Starts `bazaar serve currency` of the `bazaar` binary at `bin`, pinned to
    /// [`SERVER_CORE`], on a free port, and waits until it accepts.
    async fn start_compared(bin: &Path, plaintext: bool, pki: &Path, data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|socket| socket.local_addr())
            .expect("a free port");
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(SERVER_CORE)
            .arg(bin)
            .args(["serve", "currency", "--listen"])
            .arg(port.to_string())
            .args(["--admin-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--pki-dir")
            .arg(pki)
            .args(plaintext.then_some("--plaintext"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("taskset starts the compared binary");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(port).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} serve currency did not listen",
                bin.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, addr: port }
    }

    fn spawn(kind: Kind, mut command: Command) -> Self {
        let mut child = command.spawn().expect("taskset starts the server");
        let stdout = child.stdout.take().expect("the server's stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its address");
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the {} server did not start: {line:?}", kind.label()));
        Self { child, addr }
    }

    /// CPU time used so far by every thread of the server.
    fn cpu(&self) -> Duration {
        let tasks = PathBuf::from(format!("/proc/{}/task", self.child.id()));
        let mut nanos = 0_u64;
        for task in std::fs::read_dir(tasks).into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += stat
                .split_whitespace()
                .next()
                .and_then(|on_cpu| on_cpu.parse::<u64>().ok())
                .unwrap_or(0);
        }
        Duration::from_nanos(nanos)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing its stdin stops it; wait so that no child outlives the bench.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// One measured load on one server.
#[derive(Clone, Copy)]
struct Figures {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.0} calls/s  p50 {:>6.1} µs  p99 {:>7.1} µs  cpu {:>5.1} µs/call",
            self.per_second, self.p50_us, self.p99_us, self.cpu_us
        )
    }
}

/// The two loads: (label, calls in flight, connections).
fn loads(settings: &Settings) -> [(String, usize, usize); 2] {
    [
        (
            format!(
                "{} in flight / {} conn",
                settings.in_flight, settings.connections
            ),
            settings.in_flight,
            settings.connections,
        ),
        ("1 in flight / 1 conn".to_owned(), 1, 1),
    ]
}

async fn bench(settings: &Settings) {
    let pki = chassis::pki::for_tests().dir().to_owned();
    let data = tempfile::tempdir().expect("a data folder");
    let mut rows = Vec::new();
    for plaintext in [false, true] {
        let mut sides = vec![
            (Kind::Chassis, Server::start(Kind::Chassis, plaintext, &pki)),
            (Kind::Bare, Server::start(Kind::Bare, plaintext, &pki)),
        ];
        if let Some(bin) = &settings.compare {
            let data = data
                .path()
                .join(if plaintext { "plaintext" } else { "tls" });
            let server = Server::start_compared(bin, plaintext, &pki, &data).await;
            sides.push((Kind::Compared, server));
        }
        let tls = if plaintext {
            Tls::Plaintext
        } else {
            chassis::testing::client_tls(Some("orders"))
        };
        rows.push((if plaintext { "plaintext" } else { "tls" }, sides, tls));
    }
    println!(
        "currency Convert, server on core {SERVER_CORE}, load generator on core 0; {} runs of {} s per load",
        settings.runs, settings.seconds
    );
    let loads = loads(settings);
    // figures[row][load][side]: one per run. Side 1 is the bare reference.
    let mut figures = vec![vec![vec![Vec::new(); rows[0].1.len()]; loads.len()]; rows.len()];
    for run in 1..=settings.runs {
        for (r, (row, sides, tls)) in rows.iter().enumerate() {
            for (l, (load, in_flight, connections)) in loads.iter().enumerate() {
                let mut measured = Vec::new();
                for (s, (_, server)) in sides.iter().enumerate() {
                    let f = measure(server, tls, *in_flight, *connections, settings.seconds).await;
                    figures[r][l][s].push(f);
                    measured.push(f);
                }
                for ((kind, _), f) in sides.iter().zip(&measured) {
                    println!("run {run} {row:<9} {load:<20} {:<8} {f}", kind.label());
                }
                for ((kind, _), f) in sides.iter().zip(&measured) {
                    if *kind != Kind::Bare {
                        println!(
                            "run {run} {row:<9} {load:<20} {:<8} /bare: calls/s {:.2}  p50 {:.2}  cpu {:.2}",
                            kind.label(),
                            f.per_second / measured[1].per_second,
                            f.p50_us / measured[1].p50_us,
                            f.cpu_us / measured[1].cpu_us,
                        );
                    }
                }
            }
        }
    }
    println!("\nmedians over {} runs:", settings.runs);
    for (r, (row, sides, _)) in rows.iter().enumerate() {
        for (l, (load, _, _)) in loads.iter().enumerate() {
            let runs = &figures[r][l];
            let of = |side: usize, pick: fn(&Figures) -> f64| {
                median(&mut runs[side].iter().map(pick).collect::<Vec<_>>())
            };
            for (s, (kind, _)) in sides.iter().enumerate() {
                println!(
                    "  {row:<9} {load:<20} {:<8} {}",
                    kind.label(),
                    Figures {
                        per_second: of(s, |f| f.per_second),
                        p50_us: of(s, |f| f.p50_us),
                        p99_us: of(s, |f| f.p99_us),
                        cpu_us: of(s, |f| f.cpu_us),
                    }
                );
            }
            for (s, (kind, _)) in sides.iter().enumerate() {
                if *kind == Kind::Bare {
                    continue;
                }
                // The median of each run's ratio to the bare server measured next to it.
                let ratio = |pick: fn(&Figures) -> f64| {
                    median(
                        &mut runs[s]
                            .iter()
                            .zip(&runs[1])
                            .map(|(side, bare)| pick(side) / pick(bare))
                            .collect::<Vec<_>>(),
                    )
                };
                println!(
                    "  {row:<9} {load:<20} {:<8} /bare: calls/s {:.2}  p50 {:.2}  p99 {:.2}  cpu {:.2}",
                    kind.label(),
                    ratio(|f| f.per_second),
                    ratio(|f| f.p50_us),
                    ratio(|f| f.p99_us),
                    ratio(|f| f.cpu_us),
                );
            }
        }
    }
}

/// `in_flight` callers over `connections` fresh connections to `server`: warmed up for a
/// fifth of the time, then measured for `seconds`.
async fn measure(
    server: &Server,
    tls: &Tls,
    in_flight: usize,
    connections: usize,
    seconds: usize,
) -> Figures {
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        let endpoint = tls
            .endpoint(&server.addr.to_string())
            .expect("a socket address is a valid endpoint");
        channels.push(endpoint.connect().await.expect("the server accepts"));
    }
    let window = Duration::from_secs(u64::try_from(seconds).unwrap_or(u64::MAX));
    load(&channels, in_flight, window / 5).await;
    let cpu = server.cpu();
    let started = Instant::now();
    let mut latencies = load(&channels, in_flight, window).await;
    let elapsed = started.elapsed();
    let cpu = server.cpu().saturating_sub(cpu);
    latencies.sort_unstable();
    let calls = latencies.len().max(1);
    let at = |q: f64| {
        let rank = ((calls as f64 * q).ceil() as usize).clamp(1, calls);
        latencies
            .get(rank - 1)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Figures {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.50),
        p99_us: at(0.99),
        cpu_us: cpu.as_secs_f64() * 1e6 / calls as f64,
    }
}

/// Keeps `in_flight` calls going over `channels` for `window`: each call's latency.
async fn load(channels: &[Channel], in_flight: usize, window: Duration) -> Vec<Duration> {
    let until = Instant::now() + window;
    let mut callers = JoinSet::new();
    for i in 0..in_flight {
        let mut client = CurrencyServiceClient::new(channels[i % channels.len()].clone());
        callers.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let started = Instant::now();
                // With a deadline, as every call between the shop's services has one.
                let mut request = Request::new(convert_request());
                request.set_timeout(Duration::from_secs(5));
                client.convert(request).await.expect("Convert answers");
                latencies.push(started.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(latencies) = callers.join_next().await {
        all.extend(latencies.expect("a caller ends normally"));
    }
    all
}

/// The child: serves currency (`chassis` or `bare`, over `tls` or `plaintext`) with the
/// certificates in the PKI folder given, prints its address, and serves until its stdin
/// closes.
fn serve(args: &[OsString]) {
    let [kind, pki, transport] = args else {
        eprintln!("leaf bench: --serve KIND PKI_DIR tls|plaintext");
        std::process::exit(2);
    };
    let plaintext = transport == "plaintext";
    let pki = PathBuf::from(pki);
    // The runtime `bazaar serve` runs on: its default, one worker per core it may use.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the server");
    runtime.block_on(async move {
        let data = tempfile::tempdir().expect("a data folder");
        let addr = if kind == "chassis" {
            serve_chassis(&pki, plaintext, data.path()).await
        } else {
            serve_bare(&pki, plaintext).await
        };
        println!("{addr}");
        // Until the bench closes our stdin (or goes away).
        let mut stdin = tokio::io::stdin();
        let mut buffer = [0_u8; 64];
        while tokio::io::AsyncReadExt::read(&mut stdin, &mut buffer)
            .await
            .is_ok_and(|n| n > 0)
        {}
    });
    std::process::exit(0);
}

/// The real currency service, run as a process runs it (telemetry, metrics recorder,
/// admin listener), on a port of its own.
async fn serve_chassis(pki: &Path, plaintext: bool, data: &Path) -> SocketAddr {
    let mut args: Vec<OsString> = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--admin-listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data.into(),
        "--pki-dir".into(),
        pki.into(),
    ];
    if plaintext {
        args.push("--plaintext".into());
    }
    let (bound, address) = tokio::sync::oneshot::channel();
    let runner = chassis::service::Runner::of::<currency::Currency>();
    let launch = chassis::service::Launch {
        process: true,
        bound: Some(bound),
        ..Default::default()
    };
    tokio::spawn(runner.run(args, chassis::Shutdown::new(), launch));
    address
        .await
        .expect("currency reports its address")
        .expect("currency binds")
}

/// The reference: tonic's own server and nothing else, answering `Convert` with what the
/// real service answers to [`convert_request`].
async fn serve_bare(pki: &Path, plaintext: bool) -> SocketAddr {
    let table = currency::domain::RateTable::shipped().expect("the shipped rate table loads");
    let api = currency::api::CurrencyApi::new(table);
    let answer = api
        .convert(Request::new(convert_request()))
        .await
        .expect("the real service converts")
        .into_inner();
    let incoming =
        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().expect("an address"))
            .expect("a free port")
            .with_nodelay(Some(true));
    let addr = incoming.local_addr().expect("a bound address");
    let mut builder = tonic::transport::Server::builder();
    if !plaintext {
        let pki = chassis::pki::Pki::at(pki.to_owned());
        let read = |path: PathBuf| std::fs::read(path).expect("the test PKI is readable");
        let identity = tonic::transport::Identity::from_pem(
            read(pki.cert("currency")),
            read(pki.key("currency")),
        );
        let tls = tonic::transport::ServerTlsConfig::new()
            .identity(identity)
            .client_ca_root(tonic::transport::Certificate::from_pem(read(pki.ca_cert())));
        builder = builder
            .tls_config(tls)
            .expect("tonic takes the certificates");
    }
    let router = builder.add_service(CurrencyServiceServer::new(Bare { api, answer }));
    tokio::spawn(router.serve_with_incoming(incoming));
    addr
}

/// `Convert` answered with a fixed response; the rest as the real service answers.
struct Bare {
    api: currency::api::CurrencyApi,
    answer: pb::ConvertResponse,
}

#[tonic::async_trait]
impl CurrencyService for Bare {
    async fn list_currencies(
        &self,
        request: Request<pb::ListCurrenciesRequest>,
    ) -> Result<Response<pb::ListCurrenciesResponse>, Status> {
        self.api.list_currencies(request).await
    }

    async fn get_currency(
        &self,
        request: Request<pb::GetCurrencyRequest>,
    ) -> Result<Response<pb::GetCurrencyResponse>, Status> {
        self.api.get_currency(request).await
    }

    async fn convert(
        &self,
        _request: Request<pb::ConvertRequest>,
    ) -> Result<Response<pb::ConvertResponse>, Status> {
        Ok(Response::new(self.answer.clone()))
    }
}
