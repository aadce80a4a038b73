//! `bazaar up`: every service as its own process, supervised.
//!
//! Each service runs as `bazaar serve <name>` (this same binary), in its own process group so
//! that a Ctrl-C in the terminal reaches only the supervisor, which then stops the services
//! in reverse dependency order. Each child's standard input is a pipe from the supervisor:
//! should the supervisor die without stopping them, the pipe closes and every child stops
//! by itself rather than linger.
//!
//! A service that exits on its own is restarted after a backoff (0.5 s doubling up to 10 s,
//! back to 0.5 s once it has stayed up for 30 s). Logs go to `<data-dir>/logs/<name>.log`.
//!
//! Before anything starts, the shop's PKI in `<data-dir>/pki` is made or refreshed
//! ([`chassis::pki::Pki::ensure`]: a CA on first start, a certificate for every service, the
//! storefront and the operator; what is missing, expiring or lacks the listening host is
//! issued again); every service then finds its own certificate there through `--data-dir`.
//! `--plaintext` skips all that and passes `--plaintext` to every service instead.
//! identity's secrets (see [`crate::admin`]): unless the environment gives identity a
//! key-encryption key, `bazaar up` makes `<data-dir>/identity.kek` (0600) on its first start
//! and points identity at it. Once every service has started, while the shop has no admin,
//! it issues a one-time admin code and prints it with how to redeem it.
//!
//! Every child gets `--admin-listen <host>:<admin port of the table>`, and `bazaar up` serves
//! an admin listener of its own on [`SUPERVISOR_ADMIN_PORT`]: `/metrics` there says which
//! processes run (`bazaar_up_process_up{service}`) and how often each was started again
//! (`bazaar_up_process_restarts_total{service}`). Every admin address, its own included, goes
//! to `<data-dir>/prometheus/targets.json` for Prometheus (see [`crate::targets`]).
//!
//! `--replace SERVICE=COMMAND` runs another implementation of a service instead (for
//! example the Python currency service in `alt/currency-python`): `sh -c 'exec COMMAND'`
//! with the same flags and environment, so it is signalled, restarted and stopped exactly
//! like a `bazaar serve` child. Only the contract tells the two apart.
//!
//! `bazaar up` listens on a control socket, `<data-dir>/control.sock` (see
//! [`crate::control`]), which later commands use to act on the running shop; a second
//! `bazaar up` on the same data directory finds it answering and refuses to start.
//! `--chaos` gives every gRPC service run as `bazaar serve` a fault file, which
//! `bazaar chaos` changes through that socket (see [`crate::chaos`]); without it no service
//! has the fault-injection layer at all.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chassis::Shutdown;
use chassis::admin::{Admin, Ready};
use chassis::backoff::Backoff;
use chassis::discovery::Registry;
use chassis::pki::{Outcome, Pki};
use chassis::tls::Tls;
use chassis::topology::SUPERVISOR_ADMIN_PORT;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use crate::admin;
use crate::chaos::FaultFiles;
use crate::control;
use crate::health::{self, Health};
use crate::rollout::{Fleet, Rollout};
use crate::services::{SERVICES, Spec};
use crate::targets::{self, Target};

/// How long `bazaar up` waits for a service to report SERVING.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping service gets before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// The environment variable that tells `bazaar serve` it has a supervisor.
pub const SUPERVISED_VAR: &str = "BAZAAR_SUPERVISED";
/// The most replicas of one service `bazaar up` runs.
pub const MAX_REPLICAS: usize = 9;
/// How far apart the ports of a service's replicas are: replica `r` listens on the port of
/// the service table plus `r` times this, and so does its admin listener.
pub const REPLICA_PORT_STEP: u16 = 100;
/// The registry file in the data directory: where every replica of every service is.
pub const REGISTRY_FILE: &str = "registry.json";

/// Settings of `bazaar up`.
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// Where services keep their data; logs go to `logs/` in it.
    pub data_dir: PathBuf,
    /// The host every service listens on.
    pub host: String,
    /// Services to run with another command instead of `bazaar serve <name>`.
    pub replacements: BTreeMap<String, String>,
    /// Run every service without TLS.
    pub plaintext: bool,
    /// Give every gRPC service a fault file, for `bazaar chaos`.
    pub chaos: bool,
    /// How many processes of each service to run (one for those not named).
    pub replicas: BTreeMap<String, usize>,
    /// A PostgreSQL server on which every SQL service gets a database of its own
    /// (`bazaar_<service>`, made when missing) instead of its SQLite file.
    pub postgres: Option<String>,
}

/// A database of its own on the PostgreSQL server of `server_url` for every service that
/// keeps a SQL store, as the `BAZAAR_<NAME>_DATABASE_URL` settings of its processes; a
/// setting already in the environment is left alone.
async fn postgres_databases(server_url: &str) -> Result<Vec<(String, String)>, String> {
    let mut env = Vec::new();
    for spec in SERVICES.iter().filter(|spec| spec.sql) {
        let variable = format!("BAZAAR_{}_DATABASE_URL", spec.name.to_ascii_uppercase());
        if std::env::var_os(&variable).is_some() {
            continue;
        }
        let name = format!("bazaar_{}", spec.name);
        let url = chassis::store::ensure_postgres_database(server_url, &name)
            .await
            .map_err(|e| {
                format!(
                    "--postgres: cannot make database {name}: {}",
                    chassis::error::chain(&e)
                )
            })?;
        env.push((spec.name.to_owned(), url));
    }
    Ok(env)
}

/// The registry of the shop whose data directory is `data_dir` (see
/// [`chassis::discovery::Registry`]).
pub fn registry_file(data_dir: &Path) -> PathBuf {
    data_dir.join(REGISTRY_FILE)
}

/// The port of replica `replica` of a service whose first replica listens on `port`.
pub fn replica_port(port: u16, replica: usize) -> u16 {
    let step = u16::try_from(replica).unwrap_or(u16::MAX);
    port.saturating_add(step.saturating_mul(REPLICA_PORT_STEP))
}

/// The port replica `replica` of `spec` serves on: [`replica_port`] for a gRPC service;
/// the storefront's one port for every gateway, which share it (`--reuse-port`) while a
/// new version takes over from the old (see `gateway::listener`).
pub fn listen_port(spec: &Spec, replica: usize) -> u16 {
    match spec.probe {
        chassis::topology::Probe::Grpc => replica_port(spec.port, replica),
        chassis::topology::Probe::Http(_) => spec.port,
    }
}

/// How a replica is named in messages, logs and metrics: the service's name for the first,
/// `name-r` for replica `r` after it.
pub fn replica_label(name: &str, replica: usize) -> String {
    if replica == 0 {
        name.to_owned()
    } else {
        format!("{name}-{replica}")
    }
}

/// Parses `SERVICE=N[,SERVICE=N...]` (the value of `--replicas`): known gRPC services, each
/// with 1 to [`MAX_REPLICAS`] replicas.
pub fn parse_replicas(text: &str) -> Result<Vec<(String, usize)>, String> {
    let mut parsed = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (name, count) = item
            .split_once('=')
            .ok_or_else(|| format!("expected SERVICE=N, got {item:?}"))?;
        let name = name.trim();
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| format!("{count:?} is not a number of replicas"))?;
        check_replicas(name, count)?;
        parsed.push((name.to_owned(), count));
    }
    if parsed.is_empty() {
        return Err("expected SERVICE=N, such as catalog=3,orders=2".to_owned());
    }
    Ok(parsed)
}

/// Whether service `name` can run `count` replicas: a known gRPC service, 1 to
/// [`MAX_REPLICAS`] of them.
///
/// # Errors
///
/// Says why not.
pub fn check_replicas(name: &str, count: usize) -> Result<(), String> {
    let spec = crate::services::find(name).ok_or_else(|| {
        format!(
            "unknown service {name:?}; known: {}",
            crate::services::names()
        )
    })?;
    if spec.probe != chassis::topology::Probe::Grpc {
        return Err(format!(
            "{name} runs once: a rollout replaces it, sharing its port for a moment"
        ));
    }
    if !(1..=MAX_REPLICAS).contains(&count) {
        return Err(format!(
            "{name}={count}: a service runs 1 to {MAX_REPLICAS} replicas"
        ));
    }
    Ok(())
}

/// Makes or refreshes the PKI in `data_dir/pki` for every process of the table, naming also
/// `hosts`; prints what was issued. The TLS the command line checks health with: the CA,
/// no client certificate.
///
/// # Errors
///
/// When the PKI cannot be written or read, with the reason.
pub fn ensure_pki(data_dir: &Path, hosts: &[String], verbose: bool) -> Result<Tls, String> {
    let pki = Pki::at(data_dir.join("pki"));
    let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
    let entries = pki
        .ensure(&names, hosts)
        .map_err(|e| format!("cannot set up the PKI: {}", chassis::error::chain(&e)))?;
    for entry in &entries {
        match &entry.outcome {
            Outcome::Issued(reason) => println!(
                "pki: issued {} and {} ({reason})",
                entry.cert.display(),
                entry.key.display()
            ),
            Outcome::Kept if verbose => println!("pki: kept   {}", entry.cert.display()),
            Outcome::Kept => {}
        }
    }
    Tls::client(&pki.ca_cert(), None).map_err(|e| e.to_string())
}

/// The host names a certificate must carry for services listening on `host`, beyond
/// `localhost` and the loopback addresses every certificate has (127.0.0.1 and ::1): none
/// for those or a wildcard address; another loopback address such as 127.0.0.2 is named.
pub fn cert_hosts(host: &str) -> Vec<String> {
    let local = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST || ip.is_unspecified(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    if local {
        Vec::new()
    } else {
        vec![host.to_owned()]
    }
}

/// Where to dial a service listening on `host`: loopback for a wildcard address (whose
/// certificates name loopback, not the wildcard).
fn dial_host(host: &str) -> &str {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) if ip.is_unspecified() => "127.0.0.1",
        Ok(std::net::IpAddr::V6(ip)) if ip.is_unspecified() => "[::1]",
        _ => host,
    }
}

/// `host` as it is dialled, bracketed when it is an IPv6 address.
fn dial_authority(host: &str) -> String {
    match dial_host(host) {
        ip if ip.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{ip}]"),
        name => name.to_owned(),
    }
}

/// Where every service and its admin listener are, as the `BAZAAR_<NAME>_ADDR` and
/// `BAZAAR_<NAME>_ADMIN_ADDR` settings each child reads for its callees: every service is
/// `registry:<registry>`, so callers follow its replicas as they come and go; the admin
/// address is the first replica's, on `host`. A setting already in the environment is left
/// alone, so an operator can still point a service elsewhere.
fn peer_addresses(host: &str, registry: &Path) -> Vec<(String, std::ffi::OsString)> {
    let dial = dial_authority(host);
    let mut env = Vec::new();
    for spec in SERVICES {
        let upper = spec.name.to_ascii_uppercase();
        let mut registered = std::ffi::OsString::from("registry:");
        registered.push(registry);
        for (name, value) in [
            (format!("BAZAAR_{upper}_ADDR"), registered),
            (
                format!("BAZAAR_{upper}_ADMIN_ADDR"),
                format!("{dial}:{}", spec.admin_port).into(),
            ),
        ] {
            if std::env::var_os(&name).is_none() {
                env.push((name, value));
            }
        }
    }
    env
}

/// `host:port` as a socket address (`host` is an IP address, or a name that resolves).
fn socket_address(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| format!("--host {host:?} is not an address to listen on"))
}

/// Where to dial a listener bound to `address`: loopback for a wildcard address.
fn dial_address(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, address.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    }
}

/// Loads the home page at `address` until it answers 200, for up to [`START_TIMEOUT`].
async fn home_page_loads(address: &str, shutdown: &Shutdown) -> bool {
    let began = Instant::now();
    while began.elapsed() < START_TIMEOUT && !shutdown.is_triggered() {
        if health::check_http(address, "/").await == Health::Serving {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Parses `SERVICE=COMMAND` (the value of `--replace`): a known service and a command.
pub fn parse_replacement(text: &str) -> Result<(String, String), String> {
    let (name, command) = text
        .split_once('=')
        .ok_or_else(|| format!("expected SERVICE=COMMAND, got {text:?}"))?;
    let name = name.trim();
    if crate::services::find(name).is_none() {
        return Err(format!(
            "unknown service {name:?}; known: {}",
            crate::services::names()
        ));
    }
    if command.trim().is_empty() {
        return Err(format!("no command given for {name}"));
    }
    Ok((name.to_owned(), command.trim().to_owned()))
}

/// A line of news from a supervisor to the terminal.
enum Event {
    Ready {
        name: String,
        pid: u32,
        health: Health,
        took: Duration,
        /// Whether it ran before (and exited).
        restarted: bool,
    },
    Exited {
        name: String,
        pid: u32,
        status: String,
        retry_in: Duration,
    },
}

/// Runs every service until SIGINT or SIGTERM, then stops them in reverse order.
pub async fn run(options: UpOptions) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let logs = options.data_dir.join("logs");
    chassis::files::create_private_dir(&logs)
        .map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let fault_files = std::sync::Arc::new(if options.chaos {
        FaultFiles::on(
            &options.data_dir,
            options.replacements.keys().cloned().collect(),
        )?
    } else {
        FaultFiles::off()
    });
    let control_stop = Shutdown::new();
    let (rollouts, mut rollout_requests) = mpsc::unbounded_channel();
    let control_socket = {
        let fault_files = fault_files.clone();
        control::listen(
            control::socket_path(&options.data_dir),
            std::sync::Arc::new(move |request| match request {
                control::Request::Rollout { .. } | control::Request::Scale { .. } => {
                    let (reply, replied) = oneshot::channel();
                    if rollouts.send((request, reply)).is_err() {
                        return control::Reply::Refused {
                            reason: "bazaar up is stopping".to_owned(),
                        };
                    }
                    replied
                        .blocking_recv()
                        .unwrap_or_else(|_| control::Reply::Refused {
                            reason: "bazaar up stopped before the change ended".to_owned(),
                        })
                }
                other => fault_files.handle(other),
            }),
            control_stop.clone(),
        )
        .await?
    };
    let tls = if options.plaintext {
        println!(
            "PLAINTEXT: every service runs without TLS: no encryption, no service identity; \
             internal calls are open to anyone who can reach the ports"
        );
        Tls::Plaintext
    } else {
        ensure_pki(&options.data_dir, &cert_hosts(&options.host), false)?
    };
    let kek_file = admin::kek_file(&options.data_dir)?;
    let databases = match &options.postgres {
        Some(server) => {
            let databases = postgres_databases(server).await?;
            println!(
                "postgres: every SQL service stores in a database of its own on {}",
                chassis::config::StoreUrl::from(server.clone()).redacted()
            );
            databases
        }
        None => Vec::new(),
    };
    let shutdown = Shutdown::on_signals();
    let started = Instant::now();
    let (events, mut news) = mpsc::unbounded_channel();

    let count_of = |name: &str| options.replicas.get(name).copied().unwrap_or(1);
    let mut wanted: Vec<(String, u16)> = Vec::new();
    for spec in SERVICES {
        for replica in 0..count_of(spec.name) {
            let label = replica_label(spec.name, replica);
            wanted.push((label.clone(), replica_port(spec.port, replica)));
            wanted.push((
                format!("{label}'s admin listener"),
                replica_port(spec.admin_port, replica),
            ));
        }
    }
    wanted.push((
        "bazaar up's admin listener".to_owned(),
        SUPERVISOR_ADMIN_PORT,
    ));
    let taken = taken_ports(&options.host, &wanted);
    if !taken.is_empty() {
        // Health checks would be answered by whatever holds the port, and the service
        // itself could never bind: refuse rather than report someone else's process.
        return Err(format!(
            "already in use: {}; is another bazaar up running? Stop it first",
            taken.join(", ")
        ));
    }
    for (name, command) in &options.replacements {
        println!("{name}: running `{command}` in place of `bazaar serve {name}`");
    }
    if options.chaos {
        println!(
            "CHAOS: fault injection is on; `bazaar chaos set|clear|list --data-dir {}` \
             changes it while the shop runs",
            options.data_dir.display()
        );
    }
    let admin_address = socket_address(&options.host, SUPERVISOR_ADMIN_PORT)?;
    let ready = Ready::default();
    let admin = Admin::bind(admin_address, ready.clone())
        .await
        .map_err(|e| format!("cannot listen on {admin_address} for /metrics: {e}"))?;
    let admin_stop = Shutdown::new();
    let admin = admin.spawn(admin_stop.clone());
    let mut scraped = vec![Target {
        service: targets::SUPERVISOR.to_owned(),
        address: dial_address(admin_address).to_string(),
    }];
    // Every replica of every service, in the order of the table, with where it listens.
    let mut replicas: Vec<(&'static Spec, usize, String)> = Vec::new();
    for spec in SERVICES {
        for replica in 0..count_of(spec.name) {
            replicas.push((spec, replica, replica_label(spec.name, replica)));
        }
    }
    let mut admin_addresses = BTreeMap::new();
    for (spec, replica, label) in &replicas {
        let address = socket_address(&options.host, replica_port(spec.admin_port, *replica))?;
        admin_addresses.insert(label.clone(), address);
        scraped.push(Target {
            service: spec.name.to_owned(),
            address: dial_address(address).to_string(),
        });
    }
    let targets_file = targets::file(&options.data_dir);
    targets::write(&targets_file, &scraped)
        .map_err(|e| format!("cannot write {}: {e}", targets_file.display()))?;
    let own_target = scraped[0].clone();
    let registry = std::path::absolute(registry_file(&options.data_dir))
        .map_err(|e| format!("cannot find the data directory: {e}"))?;
    // Nothing is listed until its supervisor runs; the file is whole from the start.
    Registry::default()
        .write(&registry)
        .map_err(|e| format!("cannot write {}: {e}", registry.display()))?;
    for (spec, replica, _) in &replicas {
        register_supervision_metrics(spec.name, *replica);
    }
    let build: crate::rollout::Build = {
        let (exe, host, tls, data_dir, logs) = (
            exe.clone(),
            options.host.clone(),
            tls.clone(),
            options.data_dir.clone(),
            logs.clone(),
        );
        let (plaintext, fault_files, registry) =
            (options.plaintext, fault_files.clone(), registry.clone());
        let events = events.clone();
        Box::new(move |spec, replica, replacement| {
            let label = replica_label(spec.name, replica);
            let port = listen_port(spec, replica);
            let admin_port = replica_port(spec.admin_port, replica);
            Supervisor {
                spec,
                replica,
                exe: exe.clone(),
                address: format!("{host}:{port}"),
                admin_address: socket_address(&host, admin_port)
                    .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], admin_port))),
                probe: format!("{}:{port}", dial_host(&host)),
                tls: tls.clone(),
                plaintext,
                data_dir: data_dir.clone(),
                log: logs.join(format!("{label}.log")),
                label,
                events: events.clone(),
                replacement,
                chaos_file: fault_files.file_of(spec.name),
                env: {
                    let mut env = peer_addresses(&host, &registry);
                    for (service, url) in &databases {
                        if service == spec.name {
                            env.push((
                                format!("BAZAAR_{}_DATABASE_URL", service.to_ascii_uppercase()),
                                url.into(),
                            ));
                        }
                    }
                    // The storefront shares its port with the version that replaces it.
                    if matches!(spec.probe, chassis::topology::Probe::Http(_)) {
                        env.push(("BAZAAR_GATEWAY_REUSE_PORT".to_owned(), "true".into()));
                    }
                    if let (Some(path), "identity") = (&kek_file, spec.name) {
                        env.push((
                            "BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY_FILE".to_owned(),
                            path.as_os_str().to_owned(),
                        ));
                    }
                    env
                },
            }
        })
    };
    let mut fleet = Fleet::new(
        build,
        registry.clone(),
        (targets_file.clone(), own_target),
        dial_authority(&options.host),
        tls.clone(),
    );
    for (spec, replica, _) in &replicas {
        fleet.list(spec.name, *replica, true)?;
    }
    for (spec, replica, _) in &replicas {
        fleet.start(spec, *replica, options.replacements.get(spec.name).cloned());
    }
    let fleet = std::sync::Arc::new(tokio::sync::Mutex::new(fleet));
    drop(events);

    // First start: wait until every replica has reported, then print the table.
    let mut table: Vec<(String, String, u32, String)> = Vec::new();
    while table.len() < replicas.len() {
        tokio::select! {
            () = shutdown.wait() => break,
            event = news.recv() => match event {
                Some(Event::Ready { name, pid, health, .. }) => {
                    let (spec, replica, _) = replicas.iter().find(|(.., label)| *label == name).expect("known replica");
                    let address = format!("{}:{}", options.host, listen_port(spec, *replica));
                    table.push((name, address, pid, health.label().to_owned()));
                }
                Some(Event::Exited { name, status, .. }) => {
                    eprintln!("{name} exited during start ({status}); see {}", logs.join(format!("{name}.log")).display());
                }
                None => break,
            }
        }
    }
    if !shutdown.is_triggered() {
        table.sort_by_key(|(name, ..)| replicas.iter().position(|(.., label)| label == name));
        println!(
            "{:<16} {:<22} {:<22} {:>8}  STATE",
            "SERVICE", "ADDRESS", "ADMIN", "PID"
        );
        for (name, address, pid, state) in &table {
            let admin = dial_address(admin_addresses[name.as_str()]).to_string();
            println!("{name:<16} {address:<22} {admin:<22} {pid:>8}  {state}");
        }
        println!(
            "metrics: http://{}/metrics (bazaar up) and /metrics at each ADMIN address; \
             Prometheus targets in {}",
            dial_address(admin_address),
            targets_file.display()
        );
        let serving = table
            .iter()
            .filter(|(.., state)| state == "SERVING")
            .count();
        if serving == table.len() {
            println!(
                "all {} {} up in {:.1}s; logs in {}; Ctrl-C stops them",
                table.len(),
                if table.len() == SERVICES.len() {
                    "services"
                } else {
                    "processes"
                },
                started.elapsed().as_secs_f64(),
                logs.display()
            );
        } else {
            println!(
                "{serving} of {} services SERVING after {:.1}s; see the logs in {}; Ctrl-C stops them",
                table.len(),
                started.elapsed().as_secs_f64(),
                logs.display()
            );
        }
        let identity_serving = table
            .iter()
            .any(|(name, .., state)| name == "identity" && state == "SERVING");
        if identity_serving && !options.replacements.contains_key("identity") {
            match admin::code_if_no_admin(&options.data_dir).await {
                Ok(Some(code)) => println!("the shop has no admin yet\n{code}"),
                Ok(None) => {}
                Err(error) => eprintln!("no admin code: {error}"),
            }
        }
        let storefront = SERVICES
            .iter()
            .find(|s| matches!(s.probe, chassis::topology::Probe::Http(_)));
        if let Some(storefront) = storefront {
            let address = format!("{}:{}", options.host, storefront.port);
            // Every service SERVING is not yet a page: wait until the home page itself loads.
            if home_page_loads(&address, &shutdown).await {
                println!("the shop is open at http://{address}/ (system status at /status)");
            } else if !shutdown.is_triggered() {
                println!(
                    "the home page at http://{address}/ does not load yet; system status at /status"
                );
            }
        }
    }

    ready.set(!shutdown.is_triggered());

    // Then report restarts, and carry rollouts and changes of scale out, until asked to stop.
    let mut rolling: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tokio::select! {
            () = shutdown.wait() => break,
            request = rollout_requests.recv() => {
                let Some((request, reply)) = request else { continue };
                let fleet = fleet.clone();
                let previous = rolling.take();
                // One at a time, in the order asked.
                rolling = Some(tokio::spawn(async move {
                    if let Some(previous) = previous {
                        let _ = previous.await;
                    }
                    let mut fleet = fleet.lock().await;
                    let outcome = match request {
                        control::Request::Rollout { service, command, ready_timeout_ms } => {
                            let ready_timeout = Duration::from_millis(ready_timeout_ms);
                            fleet.roll_out(Rollout { service, command, ready_timeout }).await
                        }
                        control::Request::Scale { service, replicas, ready_timeout_ms } => {
                            let ready_timeout = Duration::from_millis(ready_timeout_ms);
                            fleet.scale(&service, replicas, ready_timeout).await
                        }
                        other => control::Reply::Refused {
                            reason: format!("not a change of the fleet: {other:?}"),
                        },
                    };
                    let _ = reply.send(outcome);
                }));
            }
            event = news.recv() => match event {
                Some(Event::Exited { name, pid, status, retry_in }) => println!(
                    "{name} (pid {pid}) exited: {status}; restarting in {:.1}s",
                    retry_in.as_secs_f64()
                ),
                Some(Event::Ready { name, pid, health, took, restarted }) => println!(
                    "{name} {} (pid {pid}): {} after {:.1}s",
                    if restarted { "is back" } else { "started" },
                    health.label(),
                    took.as_secs_f64()
                ),
                None => break,
            }
        }
    }

    ready.set(false);
    if let Some(rolling) = rolling {
        rolling.abort();
        let _ = rolling.await;
    }
    println!("stopping services in reverse dependency order");
    fleet.lock().await.stop_all().await;
    admin_stop.trigger();
    let _ = admin.await;
    control_stop.trigger();
    drop(control_socket);
    Ok(())
}

/// Registers the series of replica `replica` of `service` on `bazaar up`'s `/metrics`
/// (down, no restarts), so that they exist from the first scrape and a first restart shows
/// as an increase.
fn register_supervision_metrics(service: &'static str, replica: usize) {
    let replica = replica.to_string();
    metrics::gauge!("bazaar_up_process_up", "service" => service, "replica" => replica.clone())
        .set(0.0);
    metrics::counter!("bazaar_up_process_restarts_total", "service" => service, "replica" => replica)
        .absolute(0);
}

/// Says on `/metrics` whether replica `replica` of `service` runs.
fn process_up(service: &'static str, replica: usize, up: bool) {
    metrics::gauge!("bazaar_up_process_up", "service" => service, "replica" => replica.to_string())
        .set(if up { 1.0 } else { 0.0 });
}

/// Keeps one replica of a service running.
pub(crate) struct Supervisor {
    spec: &'static Spec,
    /// Which replica of the service it is (0 for the first).
    replica: usize,
    /// Its name in messages: [`replica_label`].
    label: String,
    exe: PathBuf,
    address: String,
    /// Where its admin listener listens (`--admin-listen`).
    admin_address: SocketAddr,
    /// Where its health is asked (loopback when it listens on a wildcard address).
    probe: String,
    /// How its health is asked.
    tls: Tls,
    /// Whether it runs with `--plaintext`.
    plaintext: bool,
    data_dir: PathBuf,
    log: PathBuf,
    events: mpsc::UnboundedSender<Event>,
    /// The command that runs in place of `bazaar serve <name>`, if any.
    replacement: Option<String>,
    /// Its fault file (`--chaos-file`), with `--chaos`.
    chaos_file: Option<PathBuf>,
    /// Environment variables for this service only.
    env: Vec<(String, std::ffi::OsString)>,
}

impl Supervisor {
    /// Runs the service, restarting it when it exits, until `stop`; returns how it ended.
    pub(crate) async fn run(self, mut stop: oneshot::Receiver<()>) -> String {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        let mut first = true;
        loop {
            let restarted = !std::mem::take(&mut first);
            if restarted {
                metrics::counter!("bazaar_up_process_restarts_total",
                    "service" => self.spec.name, "replica" => self.replica.to_string())
                .increment(1);
            }
            let mut child = match self.spawn() {
                Ok(child) => child,
                Err(error) => {
                    let delay = backoff.next_delay();
                    let _ = self.events.send(Event::Exited {
                        name: self.label.clone(),
                        pid: 0,
                        status: format!("cannot start: {error}"),
                        retry_in: delay,
                    });
                    tokio::select! {
                        _ = &mut stop => return "never started".to_owned(),
                        () = tokio::time::sleep(delay) => {}
                    }
                    continue;
                }
            };
            let pid = child.id().unwrap_or(0);
            process_up(self.spec.name, self.replica, true);
            // `Child::wait` closes the child's standard input; hold the pipe here instead, so
            // it closes only when this supervisor is gone.
            let _lifeline = child.stdin.take();
            let began = Instant::now();

            // Wait for readiness, an early exit, or a stop, whichever comes first.
            let mut reported = false;
            let status = loop {
                tokio::select! {
                    _ = &mut stop => {
                        let ended = terminate(&mut child, pid).await;
                        process_up(self.spec.name, self.replica, false);
                        return ended;
                    }
                    status = child.wait() => break status,
                    () = tokio::time::sleep(Duration::from_millis(100)), if !reported => {
                        let (health, _) = health::check_replica(self.spec, &self.probe, &dial_address(self.admin_address).to_string(), Duration::from_secs(1), &self.tls).await;
                        if health == Health::Serving || began.elapsed() > START_TIMEOUT {
                            reported = true;
                            let _ = self.events.send(Event::Ready {
                                name: self.label.clone(), pid, health, took: began.elapsed(),
                                restarted,
                            });
                        }
                    }
                }
            };
            process_up(self.spec.name, self.replica, false);
            if began.elapsed() > Duration::from_secs(30) {
                backoff.reset();
            }
            let status = match status {
                Ok(status) => status.to_string(),
                Err(error) => format!("cannot wait for it: {error}"),
            };
            let delay = backoff.next_delay();
            let _ = self.events.send(Event::Exited {
                name: self.label.clone(),
                pid,
                status,
                retry_in: delay,
            });
            tokio::select! {
                _ = &mut stop => return "was not running".to_owned(),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let log = open_log(&self.log)?;
        let mut command = match &self.replacement {
            None => {
                let mut command = Command::new(&self.exe);
                command.arg("serve").arg(self.spec.name);
                command
            }
            // `exec` makes the service itself the child, so signals reach it directly;
            // the flags below become its arguments ("$@").
            Some(replacement) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("exec {replacement} \"$@\""))
                    .arg(self.spec.name);
                command
            }
        };
        command
            .arg("--listen")
            .arg(&self.address)
            .arg("--admin-listen")
            .arg(self.admin_address.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir);
        if self.plaintext {
            command.arg("--plaintext");
        }
        if let Some(file) = &self.chaos_file {
            command.arg("--chaos-file").arg(file);
        }
        // Each child's traces carry its own name, unless the operator named them all.
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            command.env("OTEL_SERVICE_NAME", self.spec.name);
        }
        command
            .env(SUPERVISED_VAR, "1")
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        command.spawn()
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    chassis::files::open_private(path, true)
}

/// Asks a child to stop with SIGTERM, waits, and kills it if it takes too long.
async fn terminate(child: &mut Child, pid: u32) -> String {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(raw), Signal::SIGTERM);
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) => status.to_string(),
        Ok(Err(error)) => format!("cannot wait for it: {error}"),
        Err(_) => {
            let _ = child.kill().await;
            "killed after not stopping in time".to_owned()
        }
    }
}

/// The services of `wanted` whose port on `host` something else already listens on, as
/// `name (host:port)`.
fn taken_ports(host: &str, wanted: &[(String, u16)]) -> Vec<String> {
    wanted
        .iter()
        .filter(|(_, port)| std::net::TcpListener::bind((host, *port)).is_err())
        .map(|(name, port)| format!("{name} ({host}:{port})"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_held_by_another_process_are_named() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let free = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        assert_eq!(
            taken_ports(
                "127.0.0.1",
                &[("catalog".to_owned(), port), ("currency".to_owned(), free)]
            ),
            [format!("catalog (127.0.0.1:{port})")]
        );
    }

    #[test]
    fn certificates_name_the_listening_host_unless_it_is_local() {
        for local in ["127.0.0.1", "::1", "0.0.0.0", "::", "localhost"] {
            assert!(cert_hosts(local).is_empty(), "{local}");
        }
        assert_eq!(cert_hosts("10.1.2.3"), ["10.1.2.3"]);
        assert_eq!(cert_hosts("127.0.0.2"), ["127.0.0.2"]);
        assert_eq!(cert_hosts("shop.lan"), ["shop.lan"]);
        assert_eq!(dial_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(dial_host("10.1.2.3"), "10.1.2.3");
        let wildcard = socket_address("0.0.0.0", 9451).unwrap();
        assert_eq!(dial_address(wildcard).to_string(), "127.0.0.1:9451");
        let wildcard = socket_address("::", 9451).unwrap();
        assert_eq!(dial_address(wildcard).to_string(), "[::1]:9451");
        let own = socket_address("10.1.2.3", 9451).unwrap();
        assert_eq!(dial_address(own).to_string(), "10.1.2.3:9451");
    }

    #[test]
    fn replicas_are_counted_per_known_grpc_service() {
        assert_eq!(
            parse_replicas("catalog=3, orders=2"),
            Ok(vec![("catalog".to_owned(), 3), ("orders".to_owned(), 2)])
        );
        for bad in [
            "",
            "catalog",
            "catalog=0",
            "catalog=10",
            "catalog=x",
            "nosuch=2",
            "gateway=2",
        ] {
            assert!(parse_replicas(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_replica_has_its_ports_and_callers_follow_the_registry() {
        assert_eq!(replica_port(50051, 0), 50051);
        assert_eq!(replica_port(50051, 2), 50251);
        assert_eq!(replica_port(9451, 1), 9551);
        // Gateways share the storefront's port; only their admin listeners move.
        let gateway = crate::services::find("gateway").unwrap();
        assert_eq!(listen_port(gateway, 1), gateway.port);
        let catalog = crate::services::find("catalog").unwrap();
        assert_eq!(listen_port(catalog, 2), catalog.port + 200);
        assert_eq!(replica_label("catalog", 0), "catalog");
        assert_eq!(replica_label("catalog", 2), "catalog-2");
        let env = peer_addresses("127.0.0.1", Path::new("/shop/registry.json"));
        let value = |name: &str| {
            env.iter()
                .find(|(variable, _)| variable == name)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        if std::env::var_os("BAZAAR_CATALOG_ADDR").is_none() {
            assert_eq!(
                value("BAZAAR_CATALOG_ADDR").as_deref(),
                Some("registry:/shop/registry.json")
            );
        }
        if std::env::var_os("BAZAAR_CATALOG_ADMIN_ADDR").is_none() {
            assert_eq!(
                value("BAZAAR_CATALOG_ADMIN_ADDR").as_deref(),
                Some("127.0.0.1:9451")
            );
        }
    }

    #[test]
    fn replacements_name_a_known_service_and_a_command() {
        assert_eq!(
            parse_replacement("currency=python3 -m bazaar_currency --log=debug"),
            Ok((
                "currency".to_owned(),
                "python3 -m bazaar_currency --log=debug".to_owned()
            ))
        );
        for bad in ["currency", "nosuch=cmd", "currency=", "currency=  "] {
            assert!(parse_replacement(bad).is_err(), "{bad}");
        }
    }
}
