//! Predictable scaling: identity's `LogIn` (an Argon2id hash a call: CPU-bound) with one
//! replica on one core, against two replicas on two cores.
//!
//! Usage: cargo bench --bench scaling -- [--runs N] [--seconds S] [--in-flight N]
//!
//! Each replica is the real identity service, a process of its own (this bench run again
//! with `--serve-identity`), started under `taskset -c <core>` so that it and every thread
//! it makes (the hashing included) stay on its core; the two share one SQLite store and the
//! test PKI, as replicas of `bazaar up --replicas identity=2` do. The client calls through
//! the chassis's own client (`chassis::client::Upstream`: the balancer every service uses)
//! and is not pinned: a log-in costs it a few tens of microseconds against tens of
//! milliseconds of hashing on the server.
//!
//! Each run measures both set-ups, in alternating order, closed loop with `--in-flight`
//! calls for each replica: log-ins a second, and with two replicas how the calls split
//! between them (from each replica's own `/metrics`). The last lines are medians over the
//! runs, with the ratio of two replicas to one (the target is at least 1.8) and the
//! largest distance of a replica's share from an even split (the target is under 10 %).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::{LogInRequest, SignUpRequest};
use chassis::client::Upstream;
use chassis::tls::Tls;
use tokio::task::JoinSet;

const USERS: usize = 32;
const PASSWORD: &str = "a long enough password";

mod support;

struct Settings {
    runs: usize,
    seconds: f64,
    in_flight: usize,
}

impl Settings {
    fn from_args() -> Self {
        let mut settings = Self {
            runs: 3,
            seconds: 5.0,
            in_flight: 4,
        };
        support::parse(
            "cargo bench --bench scaling -- [--runs N] [--seconds S] [--in-flight N]",
            |flag, flags| {
                match flag {
                    "--runs" => settings.runs = flags.positive(flag)?,
                    "--seconds" => {
                        settings.seconds = flags
                            .value(flag)?
                            .parse()
                            .ok()
                            .filter(|s: &f64| *s > 0.0)
                            .ok_or_else(|| format!("{flag} needs a positive number"))?;
                    }
                    "--in-flight" => settings.in_flight = flags.positive(flag)?,
                    other => return Err(format!("unknown argument {other:?}")),
                }
                Ok(())
            },
        );
        settings
    }
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// One identity replica: a process of its own, on one core.
struct Replica {
    address: SocketAddr,
    admin: SocketAddr,
    child: std::process::Child,
}

impl Replica {
    fn start(core: usize, data: &Path) -> Self {
        let (address, admin) = (free_address(), free_address());
        let exe = std::env::current_exe().expect("this bench");
        let child = std::process::Command::new("taskset")
            .arg("-c")
            .arg(core.to_string())
            .arg(exe)
            .arg("--serve-identity")
            .arg(format!("--listen={address}"))
            .arg(format!("--admin-listen={admin}"))
            .arg(format!("--data-dir={}", data.display()))
            .arg(format!(
                "--pki-dir={}",
                chassis::pki::for_tests().dir().display()
            ))
            .arg(format!(
                "--key-encryption-key-file={}",
                data.join(bazaar::admin::KEK_FILE).display()
            ))
            .arg("--client-attempts-per-minute=1000000")
            .arg("--log=warn")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("taskset runs the replica");
        Self {
            address,
            admin,
            child,
        }
    }

    /// Log-ins it has answered, from its own metrics.
    async fn log_ins(&self) -> f64 {
        let (_, body) = chassis::scrape::fetch::get(
            &self.admin.to_string(),
            "/metrics",
            Duration::from_secs(5),
            8 << 20,
        )
        .await
        .expect("the replica's metrics");
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|line| line.starts_with("grpc_server_handled_total{"))
            .filter(|line| line.contains("grpc_method=\"LogIn\""))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn upstream(replicas: &[&Replica]) -> Upstream {
    let tls = Tls::client(&chassis::pki::for_tests().ca_cert(), None).expect("the test CA");
    let addresses: Vec<String> = replicas.iter().map(|r| r.address.to_string()).collect();
    Upstream::connect("identity", &addresses, Duration::from_secs(30), &tls)
        .expect("valid addresses")
}

fn email(user: usize) -> String {
    format!("scaling-{user}@bazaar.test")
}

/// Waits until `upstream` answers a log-in (of a user that may not exist yet).
async fn until_answering(upstream: &Upstream) {
    let began = Instant::now();
    loop {
        let answer = IdentityServiceClient::new(upstream.clone())
            .log_in(LogInRequest {
                email: email(0),
                password: PASSWORD.to_owned(),
            })
            .await;
        match answer {
            Ok(_) => return,
            Err(status) if status.code() == tonic::Code::Unauthenticated => return,
            Err(status) => {
                assert!(
                    began.elapsed() < Duration::from_secs(60),
                    "identity does not answer: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Log-ins a second over `seconds`, closed loop with `in_flight` calls.
async fn log_ins(upstream: &Upstream, in_flight: usize, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let began = Instant::now();
    let mut calls = JoinSet::new();
    for worker in 0..in_flight {
        let mut client = IdentityServiceClient::new(upstream.clone());
        calls.spawn(async move {
            let mut done = 0_u64;
            let mut user = worker;
            while Instant::now() < until {
                client
                    .log_in(LogInRequest {
                        email: email(user % USERS),
                        password: PASSWORD.to_owned(),
                    })
                    .await
                    .expect("a log-in succeeds");
                done += 1;
                user += in_flight;
            }
            done
        });
    }
    let mut done = 0;
    while let Some(count) = calls.join_next().await {
        done += count.expect("a worker ends");
    }
    done as f64 / began.elapsed().as_secs_f64()
}

fn serve_identity(args: Vec<String>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let served = runtime.block_on(async {
        bazaar::services::serve(
            "identity",
            args.into_iter().map(Into::into).collect(),
            chassis::Shutdown::on_signals(),
        )
        .await
    });
    if let Err(error) = served {
        eprintln!("identity: {error}");
        std::process::exit(1);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--serve-identity") {
        serve_identity(args.collect());
        return;
    }
    let settings = Settings::from_args();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        eprintln!("scaling: needs two cores, this machine has {cores}");
        std::process::exit(2);
    }
    let data = tempfile::tempdir().expect("a temporary directory");
    bazaar::admin::kek_file(data.path()).expect("identity's key-encryption key");
    let first = Replica::start(0, data.path());
    let second = Replica::start(1, data.path());
    println!(
        "scaling: identity LogIn (Argon2id), replica 1 on core 0, replica 2 on core 1, shared \
         SQLite store; {} run(s) of {} s; {} calls in flight per replica",
        settings.runs, settings.seconds, settings.in_flight
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let one = upstream(&[&first]);
        let two = upstream(&[&first, &second]);
        until_answering(&one).await;
        until_answering(&upstream(&[&second])).await;
        let mut identity = IdentityServiceClient::new(one.clone());
        for user in 0..USERS {
            let signed_up = identity
                .sign_up(SignUpRequest {
                    email: email(user),
                    password: PASSWORD.to_owned(),
                    ..SignUpRequest::default()
                })
                .await;
            if let Err(status) = signed_up {
                assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
            }
        }
        // Warm both replicas (connections, caches) before anything is measured.
        log_ins(&two, settings.in_flight * 2, 1.0).await;

        let (mut ones, mut twos, mut skews) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..settings.runs {
            let mut one_rate = 0.0;
            let mut two_rate = 0.0;
            let mut shares = (0.0, 0.0);
            for phase in 0..2 {
                if (phase + run) % 2 == 0 {
                    one_rate = log_ins(&one, settings.in_flight, settings.seconds).await;
                } else {
                    let before = (first.log_ins().await, second.log_ins().await);
                    two_rate = log_ins(&two, settings.in_flight * 2, settings.seconds).await;
                    let after = (first.log_ins().await, second.log_ins().await);
                    shares = (after.0 - before.0, after.1 - before.1);
                }
            }
            let total = shares.0 + shares.1;
            let skew = if total > 0.0 {
                (shares.0 / total - 0.5).abs() * 2.0
            } else {
                1.0
            };
            println!(
                "run {}: one replica {one_rate:.1} log-ins/s; two replicas {two_rate:.1} \
                 log-ins/s ({:.2}x); split {:.0} / {:.0} calls ({:.1} % from even)",
                run + 1,
                two_rate / one_rate,
                shares.0,
                shares.1,
                skew * 100.0
            );
            ones.push(one_rate);
            twos.push(two_rate);
            skews.push(skew);
        }
        let mut ratios: Vec<f64> = twos.iter().zip(&ones).map(|(t, o)| t / o).collect();
        println!(
            "median: one replica {:.1} log-ins/s, two replicas {:.1} log-ins/s; ratio {:.2}x \
             (target >= 1.8x); share from even {:.1} % (target < 10 %)",
            support::median(&mut ones),
            support::median(&mut twos),
            support::median(&mut ratios),
            support::median(&mut skews) * 100.0
        );
    });
}
