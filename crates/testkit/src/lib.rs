//! The whole shop inside one test process, for tests that cross services.
//!
//! [`Shop`] starts all ten services from their own libraries, exactly as their binaries do
//! (flags parsed by their own `Config`, then `bind` and `run`), each on a tokio runtime of
//! its own on a thread of its own, listening on a free port of 127.0.0.1, with its data in
//! one temporary directory (or, with [`ShopBuilder::postgres`], each SQL store in a fresh
//! PostgreSQL database). Because every service has its own runtime, a test can do to one
//! service what happens to a process in production:
//!
//! - [`Shop::stop`]: a graceful stop (SIGTERM): the service drains and closes its store;
//! - [`Shop::kill`]: an abrupt end (SIGKILL): its runtime is dropped at once, every task
//!   abandoned wherever it was, nothing drained, uncommitted transactions rolled back;
//! - [`Shop::restart`]: the service again, on the same address and the same store.
//!
//! With [`ShopBuilder::replicas`] every gRPC service runs as several replicas, each an
//! in-process service like the one above (runtime, thread, listen and admin address of its
//! own), all replicas of a service on one store (the same data directory, the same
//! PostgreSQL database). Every caller is given the addresses of all replicas of each service
//! it calls, comma-separated, as `bazaar up` gives them, and balances over them.
//! [`Shop::stop`], [`Shop::kill`] and [`Shop::restart`] act on every replica of a service;
//! [`Shop::stop_replica`], [`Shop::kill_replica`] and [`Shop::restart_replica`] on one, so
//! that a test can take one replica down while another serves. What names a service
//! without a replica ([`Shop::addr`], [`Shop::admin_addr`], [`Shop::channel`], ...) means
//! its replica 0; [`Shop::replica_addr`] and [`Shop::replica_channel`] reach another.
//!
//! Services find each other by the address flags they take from the command line, so
//! nothing here reaches into a service's internals: what a test sees is what a process
//! would. They speak mutual TLS, each with its certificate from the test PKI of the process
//! (`chassis::pki::for_tests`, given as `--pki-dir`); [`Shop::channel`] verifies them with
//! its CA and presents no certificate, [`Shop::channel_with`] presents one.
//! [`ShopBuilder::plaintext`] runs the whole shop without TLS. [`buyer`] has the few calls
//! most tests need to shop.
//!
//! A service can also be another implementation of its contract, run as a process of its
//! own ([`ShopBuilder::replace`], or `BAZAAR_TEST_REPLACE=service=command` for every shop
//! of a test run): it is given `--listen`, `--admin-listen` and `--data-dir` as
//! `bazaar up --replace` gives them, stopped with SIGTERM and killed with SIGKILL. This is
//! how the whole-system tests run against the Python currency service.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buyer;
mod external;
mod services;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chassis::Shutdown;
use chassis::auth::Peer;
use chassis::testing::{TempPostgres, wait_until_serving};
use chassis::tls::Tls;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The shop's gRPC services, callees before callers (the service table of the chassis).
pub use chassis::topology::{Spec, grpc_services};

/// The e-mail of the administrator's account in every [`Shop`] (made admin with a code
/// from [`Shop::admin_code`], see [`buyer::admin`]).
pub const ADMIN_EMAIL: &str = "admin@bazaar.test";

/// Replacements for every shop of the process: `service=command`, several separated by `;`.
pub const REPLACE_VAR: &str = "BAZAAR_TEST_REPLACE";

/// How long a service may take to answer SERVING after it starts.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Builds a [`Shop`]: which store, which services, how many replicas, which extra flags.
#[derive(Debug)]
pub struct ShopBuilder {
    test: String,
    postgres: bool,
    without: Vec<&'static str>,
    flags: BTreeMap<&'static str, BTreeMap<String, String>>,
    replacements: BTreeMap<&'static str, String>,
    plaintext: bool,
    replicas: usize,
}

impl ShopBuilder {
    /// Runs `n` replicas of every gRPC service (1, the default, is the shop as it always
    /// was): each on its own runtime, thread, listen and admin address, all replicas of a
    /// service sharing its store, and every caller given the addresses of every replica of
    /// what it calls. A replaced service ([`ShopBuilder::replace`]) runs as `n` processes.
    ///
    /// # Panics
    /// When `n` is 0 (a mistake in the test).
    pub fn replicas(mut self, n: usize) -> Self {
        assert!(n > 0, "a shop needs at least one replica of each service");
        self.replicas = n;
        self
    }

    /// Runs every service without TLS (`--plaintext`).
    pub fn plaintext(mut self) -> Self {
        self.plaintext = true;
        self
    }

    /// Runs `command` in place of `service`'s own implementation, as a process: the
    /// command gets `--listen ADDRESS --admin-listen ADDRESS --data-dir DIR` appended (run
    /// by `sh`, so it may carry arguments of its own). Its other flags are the command's
    /// business.
    pub fn replace(mut self, service: &str, command: &str) -> Self {
        self.replacements
            .insert(services::name(service), command.to_owned());
        self
    }

    /// Puts every SQL store in a fresh PostgreSQL database of its own, on the server that
    /// `BAZAAR_TEST_POSTGRES_URL` names.
    pub fn postgres(mut self) -> Self {
        self.postgres = true;
        self
    }

    /// Puts every SQL store on PostgreSQL when `postgres` is true (for tests run on both).
    pub fn postgres_if(self, postgres: bool) -> Self {
        if postgres { self.postgres() } else { self }
    }

    /// Gives `service` the flag `--name=value` (replacing the shop's own setting of it).
    ///
    /// # Panics
    /// If `service` is not one of the shop's gRPC services or the flag is not of the form
    /// `--name=value` (a mistake in the test).
    pub fn arg(mut self, service: &str, flag: &str) -> Self {
        let service = services::name(service);
        let (name, value) = flag
            .strip_prefix("--")
            .and_then(|f| f.split_once('='))
            .unwrap_or_else(|| panic!("flag {flag:?} is not of the form --name=value"));
        self.flags
            .entry(service)
            .or_default()
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// Leaves `service` out: its address is reserved but nothing listens there until
    /// [`Shop::restart`] starts it.
    pub fn without(mut self, service: &str) -> Self {
        self.without.push(services::name(service));
        self
    }

    /// Starts every service (callees before callers) and waits until each answers SERVING.
    /// `None`, after saying so on stderr, when PostgreSQL was asked for and
    /// `BAZAAR_TEST_POSTGRES_URL` is not set.
    ///
    /// # Panics
    /// When a service does not start: the test cannot go on.
    pub async fn start(self) -> Option<Shop> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut databases = BTreeMap::new();
        if self.postgres {
            for spec in services::grpc_services().filter(|s| s.sql) {
                let test = format!("{} ({})", self.test, spec.name);
                let database = TempPostgres::create(&test)
                    .await
                    .expect("a PostgreSQL database for the test")?;
                databases.insert(spec.name, database);
            }
        }
        // identity's key-encryption key, in a private file as `bazaar up` makes it.
        let kek = dir.path().join(bazaar::admin::KEK_FILE);
        identity::seal::KeyEncryptionKey::create_file(&kek)
            .expect("identity's key-encryption key file");
        let replicas = self.replicas;
        let addresses: BTreeMap<&'static str, Vec<SocketAddr>> = services::grpc_services()
            .map(|s| (s.name, (0..replicas).map(|_| free_address()).collect()))
            .collect();
        let admin_addresses: BTreeMap<&'static str, Vec<SocketAddr>> = services::grpc_services()
            .map(|s| (s.name, (0..replicas).map(|_| free_address()).collect()))
            .collect();
        let pki = chassis::pki::for_tests();
        let tls = if self.plaintext {
            Tls::Plaintext
        } else {
            Tls::client(&pki.ca_cert(), None).expect("the test PKI is readable")
        };
        let mut configured = BTreeMap::new();
        for spec in services::grpc_services() {
            let mut flags = BTreeMap::new();
            flags.insert("data-dir".to_owned(), dir.path().display().to_string());
            if self.plaintext {
                flags.insert("plaintext".to_owned(), "true".to_owned());
            } else {
                flags.insert("pki-dir".to_owned(), pki.dir().display().to_string());
            }
            flags.insert("shutdown-grace-secs".to_owned(), "2".to_owned());
            for callee in spec.calls {
                let every_replica: Vec<String> =
                    addresses[callee].iter().map(ToString::to_string).collect();
                flags.insert(format!("{callee}-addr"), every_replica.join(","));
            }
            for (name, value) in services::test_flags(spec.name) {
                flags.insert((*name).to_owned(), (*value).to_owned());
            }
            if spec.name == "identity" {
                flags.insert(
                    "key-encryption-key-file".to_owned(),
                    kek.display().to_string(),
                );
            }
            if let Some(database) = databases.get(spec.name) {
                flags.insert("database-url".to_owned(), database.url.clone());
            }
            let per_replica: Vec<BTreeMap<String, String>> = (0..replicas)
                .map(|replica| {
                    let mut flags = flags.clone();
                    flags.insert(
                        "listen".to_owned(),
                        addresses[spec.name][replica].to_string(),
                    );
                    flags.insert(
                        "admin-listen".to_owned(),
                        admin_addresses[spec.name][replica].to_string(),
                    );
                    if let Some(overrides) = self.flags.get(spec.name) {
                        flags.extend(overrides.clone());
                    }
                    flags
                })
                .collect();
            configured.insert(spec.name, per_replica);
        }
        let shop = Shop {
            dir,
            tls,
            databases,
            addresses,
            admin_addresses,
            flags: configured,
            replacements: self.replacements,
            running: Mutex::new(BTreeMap::new()),
        };
        for spec in services::grpc_services() {
            if !self.without.contains(&spec.name) {
                shop.restart(spec.name).await;
            }
        }
        Some(shop)
    }
}

/// Every service of the shop, running in this process. See the [crate] documentation.
#[derive(Debug)]
pub struct Shop {
    dir: tempfile::TempDir,
    tls: Tls,
    databases: BTreeMap<&'static str, TempPostgres>,
    /// Where each replica of each service listens, replica 0 first.
    addresses: BTreeMap<&'static str, Vec<SocketAddr>>,
    admin_addresses: BTreeMap<&'static str, Vec<SocketAddr>>,
    /// The flags of each replica of each service.
    flags: BTreeMap<&'static str, Vec<BTreeMap<String, String>>>,
    replacements: BTreeMap<&'static str, String>,
    /// What runs, by service and replica.
    running: Mutex<BTreeMap<(&'static str, usize), Running>>,
}

/// A running service, and the two ways to end it.
#[derive(Debug)]
enum Running {
    /// One of ours: a runtime on a thread of its own.
    InProcess {
        shutdown: Shutdown,
        kill: oneshot::Sender<()>,
        thread: JoinHandle<Result<(), String>>,
    },
    /// A replacement, as a process.
    External(external::Process),
}

impl Shop {
    /// A shop for the test named `test` (the name appears in skip messages and database
    /// names).
    pub fn builder(test: &str) -> ShopBuilder {
        ShopBuilder {
            test: test.to_owned(),
            postgres: false,
            without: Vec::new(),
            flags: BTreeMap::new(),
            replacements: external::from_env(),
            plaintext: false,
            replicas: 1,
        }
    }

    /// How many replicas of each service the shop runs.
    pub fn replicas(&self) -> usize {
        self.addresses.values().next().map_or(1, Vec::len)
    }

    /// The address `service` listens on (also while it is stopped); its replica 0's when
    /// it has several.
    pub fn addr(&self, service: &str) -> SocketAddr {
        self.replica_addr(service, 0)
    }

    /// The address replica `replica` (from 0) of `service` listens on.
    ///
    /// # Panics
    /// When the shop has no such replica (a mistake in the test).
    pub fn replica_addr(&self, service: &str, replica: usize) -> SocketAddr {
        self.addresses[services::name(service)][self.replica(replica)]
    }

    /// The addresses of every replica of `service`, replica 0 first.
    pub fn addrs(&self, service: &str) -> &[SocketAddr] {
        &self.addresses[services::name(service)]
    }

    /// The address of the admin listener of `service` (`/metrics`, `/healthz`, `/readyz`;
    /// also while it is stopped); its replica 0's when it has several.
    pub fn admin_addr(&self, service: &str) -> SocketAddr {
        self.replica_admin_addr(service, 0)
    }

    /// The address of the admin listener of replica `replica` of `service`.
    ///
    /// # Panics
    /// When the shop has no such replica (a mistake in the test).
    pub fn replica_admin_addr(&self, service: &str, replica: usize) -> SocketAddr {
        self.admin_addresses[services::name(service)][self.replica(replica)]
    }

    /// The scheme (`https`, or `http` in plaintext) and the address of `service` (its
    /// replica 0), as tonic endpoints take it.
    pub fn endpoint(&self, service: &str) -> String {
        format!("{}://{}", self.tls.scheme(), self.addr(service))
    }

    /// How a caller from outside reaches the shop: TLS with the CA and no client
    /// certificate, or plaintext.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// A channel to `service` (its replica 0), connecting on first use, with the
    /// certificate of the caller its access rules expect
    /// (`chassis::testing::as_trusted_caller`); `channel_with(service, shop.tls())` is a
    /// caller from outside, with no certificate.
    pub fn channel(&self, service: &str) -> Channel {
        self.replica_channel(service, 0)
    }

    /// [`Shop::channel`] to replica `replica` of `service`.
    ///
    /// # Panics
    /// When the shop has no such replica (a mistake in the test).
    pub fn replica_channel(&self, service: &str, replica: usize) -> Channel {
        chassis::testing::connect(
            self.replica_addr(service, replica),
            &chassis::testing::as_trusted_caller(service, &self.tls),
        )
    }

    /// A channel to `service` (its replica 0) over `tls`
    /// (`chassis::testing::client_tls(Some("orders"))` presents the certificate of orders),
    /// connecting on first use.
    pub fn channel_with(&self, service: &str, tls: &Tls) -> Channel {
        chassis::testing::connect(self.addr(service), tls)
    }

    /// A channel to `service` (its replica 0) on which every call comes from `caller`, by
    /// the client certificate of its TLS connection: a service of the shop, the operator,
    /// or nobody ([`Peer::Anonymous`]: the CA only, no certificate).
    ///
    /// # Panics
    /// When `caller` is [`Peer::Unverified`], which is a kind of server, not of caller, or
    /// when the shop runs in plaintext, where no certificate names anybody.
    pub fn channel_as(&self, service: &str, caller: &Peer) -> Channel {
        assert!(
            !self.tls.is_plaintext(),
            "a plaintext shop cannot tell callers apart"
        );
        let tls = match caller {
            Peer::Service(name) => chassis::testing::client_tls(Some(name)),
            Peer::Operator(_) => chassis::testing::client_tls(Some(chassis::pki::OPERATOR)),
            Peer::Anonymous => chassis::testing::client_tls(None),
            Peer::Unverified => panic!("a caller cannot be Unverified; only a server can"),
        };
        self.channel_with(service, &tls)
    }

    /// The directory every service keeps its files in.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database URL `service` uses: its PostgreSQL database, or its SQLite file.
    pub fn database_url(&self, service: &str) -> Option<String> {
        let name = services::name(service);
        self.flags[name][0].get("database-url").cloned()
    }

    /// A new one-time admin code, issued in identity's store as `bazaar admin code` issues
    /// it (voiding the unused one before it).
    ///
    /// # Panics
    /// When identity's store cannot be opened: the test cannot go on.
    pub async fn admin_code(&self) -> String {
        let database_url = self.database_url("identity");
        let store = bazaar::admin::open_store(self.data_dir(), database_url.as_deref())
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let code = bazaar::admin::issue(&store)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        store.pool().close().await;
        code.code
    }

    /// Whether `service` is running (started and not stopped or killed since): any of its
    /// replicas.
    pub fn is_running(&self, service: &str) -> bool {
        let name = services::name(service);
        self.lock().keys().any(|(running, _)| *running == name)
    }

    /// Whether replica `replica` of `service` is running.
    pub fn is_replica_running(&self, service: &str, replica: usize) -> bool {
        let key = (services::name(service), self.replica(replica));
        self.lock().contains_key(&key)
    }

    /// Stops `service` as SIGTERM would: it drains its calls, closes its store and exits.
    /// Every replica, one after the other.
    pub async fn stop(&self, service: &str) {
        for replica in 0..self.replicas() {
            self.stop_replica(service, replica).await;
        }
    }

    /// Stops replica `replica` of `service` as SIGTERM would; the others go on.
    pub async fn stop_replica(&self, service: &str, replica: usize) {
        let key = (services::name(service), self.replica(replica));
        let Some(running) = self.lock().remove(&key) else {
            return;
        };
        let stopped = match running {
            Running::InProcess {
                shutdown, thread, ..
            } => {
                shutdown.trigger();
                join(thread).await
            }
            Running::External(process) => process.stop().await,
        };
        if let Err(error) = stopped {
            eprintln!("{} did not stop cleanly: {error}", self.label(key));
        }
    }

    /// Ends `service` as SIGKILL would: its runtime is dropped with every task where it
    /// stands; nothing is drained or flushed. Every replica, one after the other.
    pub async fn kill(&self, service: &str) {
        for replica in 0..self.replicas() {
            self.kill_replica(service, replica).await;
        }
    }

    /// Ends replica `replica` of `service` as SIGKILL would; the others go on.
    pub async fn kill_replica(&self, service: &str, replica: usize) {
        let key = (services::name(service), self.replica(replica));
        let Some(running) = self.lock().remove(&key) else {
            return;
        };
        match running {
            Running::InProcess { kill, thread, .. } => {
                let _ = kill.send(());
                // It ends as killed; that is the point.
                let _ = join(thread).await;
            }
            Running::External(process) => process.kill().await,
        }
    }

    /// Starts `service` (again) on its address with its store, and waits until it answers
    /// SERVING: every replica that is not running, one after the other.
    ///
    /// # Panics
    /// When one does not start within 30 s.
    pub async fn restart(&self, service: &str) {
        for replica in 0..self.replicas() {
            self.restart_replica(service, replica).await;
        }
    }

    /// Starts replica `replica` of `service` (again) on its address with the service's
    /// store, and waits until it answers SERVING. Does nothing if it is running.
    ///
    /// # Panics
    /// When it does not start within 30 s.
    pub async fn restart_replica(&self, service: &str, replica: usize) {
        let name = services::name(service);
        let key = (name, self.replica(replica));
        if self.is_replica_running(name, replica) {
            return;
        }
        let label = self.label(key);
        let flags = &self.flags[name][replica];
        let args: Vec<String> = flags
            .iter()
            .map(|(flag, value)| format!("--{flag}={value}"))
            .collect();
        let channel = self.replica_channel(name, replica);
        if let Some(command) = self.replacements.get(name) {
            let process = external::Process::start(
                name,
                command,
                self.replica_addr(name, replica),
                self.data_dir(),
                flags,
            )
            .unwrap_or_else(|e| panic!("{label} ({command}) does not start: {e}"));
            self.lock().insert(key, Running::External(process));
            wait_until_serving(&label, channel, READY_WITHIN).await;
            return;
        }
        let started = Instant::now();
        // A port just released can take a moment to be bindable again.
        let running = loop {
            let (bound_tx, bound_rx) = oneshot::channel();
            let running = spawn(name, args.clone(), bound_tx);
            match bound_rx.await {
                Ok(Ok(())) => break running,
                Ok(Err(error)) if started.elapsed() < READY_WITHIN => {
                    if let Running::InProcess { thread, .. } = running {
                        let _ = join(thread).await;
                    }
                    eprintln!("{label} did not bind yet ({error}); trying again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(Err(error)) => panic!("{label} does not start: {error}"),
                Err(_) => {
                    let ended = match running {
                        Running::InProcess { thread, .. } => join(thread).await.err(),
                        Running::External(_) => None,
                    };
                    panic!(
                        "{label} ended before binding: {}",
                        ended.unwrap_or_default()
                    )
                }
            }
        };
        self.lock().insert(key, running);
        wait_until_serving(&label, channel, READY_WITHIN).await;
    }

    /// Stops every running service gracefully, callers first, and drops the PostgreSQL
    /// databases.
    pub async fn shutdown(mut self) {
        for spec in services::grpc_services()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            self.stop(spec.name).await;
        }
        for (_, database) in std::mem::take(&mut self.databases) {
            if let Err(error) = database.drop_database().await {
                eprintln!("could not drop a test database: {error}");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(&'static str, usize), Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `replica`, checked against the shop's replicas.
    fn replica(&self, replica: usize) -> usize {
        let replicas = self.replicas();
        assert!(
            replica < replicas,
            "replica {replica} of a shop of {replicas} replicas"
        );
        replica
    }

    /// How messages name a replica: the service alone when it has one.
    fn label(&self, (name, replica): (&'static str, usize)) -> String {
        if self.replicas() == 1 {
            name.to_owned()
        } else {
            format!("{name} (replica {replica})")
        }
    }
}

impl Drop for Shop {
    /// A shop dropped without [`Shop::shutdown`] (a failed test) kills what still runs, so
    /// no service outlives its test.
    fn drop(&mut self) {
        let running = std::mem::take(&mut *self.lock());
        for (_, running) in running {
            match running {
                Running::InProcess { kill, thread, .. } => {
                    let _ = kill.send(());
                    let _ = thread.join();
                }
                Running::External(process) => process.kill_now(),
            }
        }
    }
}

/// A free port of 127.0.0.1, found by binding port 0 and letting it go. (A service binds
/// the address itself later; restarts need the address to stay the same.) A port is never
/// handed out twice in one process, so shops started side by side by parallel tests cannot
/// be given the same port before either has bound it.
fn free_address() -> SocketAddr {
    static HANDED_OUT: Mutex<std::collections::BTreeSet<u16>> =
        Mutex::new(std::collections::BTreeSet::new());
    loop {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port on 127.0.0.1");
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
        if handed_out.insert(address.port()) {
            return address;
        }
    }
}

/// Runs `name` with `args` on a runtime of its own, on a thread of its own. `bound` hears
/// whether it could bind its address.
fn spawn(
    name: &'static str,
    args: Vec<String>,
    bound: oneshot::Sender<Result<(), String>>,
) -> Running {
    let shutdown = Shutdown::new();
    let (kill, killed) = oneshot::channel::<()>();
    let stop = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name(format!("shop-{name}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(name)
                .enable_all()
                .build()
                .map_err(|e| format!("{name}: no runtime: {e}"))?;
            let result = runtime.block_on(async move {
                tokio::select! {
                    result = services::run(name, args, stop, bound) => result,
                    _ = killed => Err(format!("{name} killed")),
                }
            });
            // Killed: every task still on the runtime is dropped where it stands.
            runtime.shutdown_background();
            result
        })
        .expect("a thread for the service");
    Running::InProcess {
        shutdown,
        kill,
        thread,
    }
}

/// Waits for a service thread to end, off the test's runtime.
async fn join(thread: JoinHandle<Result<(), String>>) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        thread
            .join()
            .unwrap_or_else(|_| Err("the service panicked".to_owned()))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
}
