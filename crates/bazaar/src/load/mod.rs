//! `bazaar load`: the shop's own load generator.
//!
//! A run drives the shop as its shoppers do, through the contract only: gRPC straight to
//! the services ([`grpc`]) or HTTP through the storefront's JSON API ([`http`]). Before the
//! clock starts it lists the catalog, opens the guest sessions its shoppers need and puts
//! enough stock on the shelves ([`stock`]); then it follows its [`plan`]:
//!
//! - **open loop** (`--rate`): operations start at a constant arrival rate fixed in
//!   advance, whatever the shop does; each operation's latency runs from the instant it was
//!   *due*, so time spent waiting behind a slow shop counts (no coordinated omission).
//!   Operations that act as a shopper (cart, checkout, history) borrow one from a pool, so
//!   no two run in one cart at once; an arrival that finds none free waits, and that wait
//!   counts too.
//! - **closed loop** (`--shoppers`): that many shoppers, each running operations back to
//!   back, each with a session of its own.
//!
//! What each operation does is drawn from the [`mix`]; what happened is [`record`]ed in
//! HDR histograms and [`report`]ed as a table or JSON. A checkout retries a transient
//! failure of PlaceOrder with the same `request_id` (so it never orders twice), with
//! exponential backoff and jitter for up to 30 s, as a real client must; an order counts
//! as acknowledged only when PlaceOrder answers OK. With `--check`, every acknowledged
//! order is handed to the invariant check afterwards.
//!
//! A run never reads a service's store, and it never takes more than it was told to: the
//! arrival schedule and the draws of the mix come from `--seed`, the ids it sends from
//! the run's own id, so two runs never share a `request_id`.

pub mod grpc;
pub mod http;
pub mod mix;
pub mod plan;
pub mod record;
pub mod report;
pub mod stock;
pub mod target;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chassis::tls::Tls;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::invariants::{self, Ledger, ShopperId};
use mix::{Mix, Operation};
use plan::Plan;
use record::Recorder;
use target::{Product, Session, Target};

/// How long a checkout keeps retrying PlaceOrder with the same `request_id`.
const CHECKOUT_PATIENCE: Duration = Duration::from_secs(30);
/// The first wait before a retry; it doubles each time, up to [`LONGEST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
const LONGEST_BACKOFF: Duration = Duration::from_secs(2);
/// Operations of an open loop in flight at once, at most; beyond, arrivals wait (and the
/// wait counts in their latency).
const MOST_IN_FLIGHT: usize = 10_000;
/// The fewest and the most shoppers of an open loop's pool.
const POOL: (usize, usize) = (8, 256);
/// Operations a second one closed-loop shopper is assumed to manage at most, to estimate
/// the stock a run needs.
const SHOPPER_PACE: f64 = 100.0;
/// How long `--check` waits for PENDING orders to settle.
const SETTLE: Duration = Duration::from_secs(60);

/// Which loop a run follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    /// Arrivals at a planned rate, calls a second.
    Open,
    /// A planned number of shoppers, each going on as soon as its last operation ends.
    Closed,
}

/// Everything `bazaar load` is told.
#[derive(Clone, Debug)]
pub struct Options {
    /// The host the services listen on (their ports are the table's).
    pub host: String,
    /// The data directory whose PKI verifies the services and holds the operator's
    /// certificate.
    pub data_dir: PathBuf,
    /// The storefront's base URL, to go through its JSON API instead of gRPC.
    pub gateway: Option<String>,
    /// The services run without TLS.
    pub plaintext: bool,
    /// Open or closed loop.
    pub mode: Loop,
    /// The levels over time: calls a second (open loop) or shoppers (closed).
    pub plan: Plan,
    /// What the shoppers do.
    pub mix: Mix,
    /// Seeds every random draw of the run.
    pub seed: u64,
    /// Print the report as JSON.
    pub json: bool,
    /// Check the checkout invariants after the run.
    pub check: bool,
    /// Print a progress line every second on stderr.
    pub progress: bool,
}

/// Runs a load test as `options` say and prints its report on stdout.
///
/// # Errors
///
/// When the shop cannot be reached or prepared (catalog, sessions, stock), or when the
/// check after the run finds a broken invariant.
pub async fn run(options: Options) -> Result<(), String> {
    if options.gateway.is_none()
        && let Some(page) = options.mix.operations().find(|o| o.needs_gateway())
    {
        return Err(format!(
            "{page} loads a page of the storefront: give its URL with --gateway"
        ));
    }
    let target = match &options.gateway {
        Some(url) => Target::Http(http::Http::new(url)?),
        None => {
            let tls = if options.plaintext {
                Tls::Plaintext
            } else {
                let ca = chassis::pki::Pki::at(options.data_dir.join("pki")).ca_cert();
                Tls::client(&ca, None).map_err(|e| e.to_string())?
            };
            Target::Grpc(grpc::Grpc::connect(&options.host, &tls)?)
        }
    };
    let products = target.products().await?;
    if products.is_empty() {
        return Err("the catalog has no products to shop for".to_owned());
    }
    let run_id = run_id();
    let mut ledger = Ledger::default();

    let operations: Vec<Operation> = options.mix.operations().collect();
    let shopper_share: f64 = operations
        .iter()
        .filter(|operation| operation.needs_shopper())
        .map(|operation| options.mix.share(*operation))
        .sum();
    let (calls, shoppers_wanted) = match options.mode {
        Loop::Open => {
            let pool = (options.plan.peak() * shopper_share).ceil();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped
            let pool = (pool as usize).clamp(POOL.0, POOL.1);
            (
                options.plan.calls(),
                if shopper_share > 0.0 { pool } else { 0 },
            )
        }
        Loop::Closed => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // parsed bounds
            let peak = options.plan.peak().ceil() as usize;
            (
                options.plan.peak() * options.plan.duration().as_secs_f64() * SHOPPER_PACE,
                if shopper_share > 0.0 { peak } else { 0 },
            )
        }
    };

    let shoppers = open_sessions(&target, shoppers_wanted, &mut ledger).await?;
    let checkouts = calls * options.mix.share(Operation::Checkout);
    let cart_adds = calls * options.mix.share(Operation::Cart);
    let mut added = 0;
    if checkouts + cart_adds > 0.0 {
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let wanted = stock::wanted(checkouts, cart_adds, ids.len());
        added = stock::Stocker::connect(&options.host, &options.data_dir, options.plaintext)?
            .fill(&ids, wanted, &run_id, &mut ledger)
            .await?;
    }
    eprintln!(
        "bazaar load: {} products, {} shoppers, {added} units added to stock; {} loop for {:.0} s against {}",
        products.len(),
        shoppers.len(),
        match options.mode {
            Loop::Open => "open",
            Loop::Closed => "closed",
        },
        options.plan.duration().as_secs_f64(),
        options.gateway.as_deref().unwrap_or(&options.host),
    );

    let run = Arc::new(Run {
        target,
        words: search_words(&products),
        products,
        mix: options.mix.clone(),
        recorder: Recorder::default(),
        ledger: Mutex::new(ledger),
        run_id,
        next_id: AtomicU64::new(0),
    });
    let progress = options
        .progress
        .then(|| tokio::spawn(show_progress(run.clone())));
    match options.mode {
        Loop::Open => open_loop(&run, &options.plan, shoppers, options.seed).await,
        Loop::Closed => closed_loop(&run, &options.plan, shoppers, options.seed).await,
    }
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }

    let mut report = run.recorder.report(&operations, options.plan.duration());
    if options.check {
        let clients =
            invariants::Clients::connect(&options.host, &options.data_dir, options.plaintext)
                .await?;
        let ledger =
            std::mem::take(&mut *run.ledger.lock().unwrap_or_else(PoisonError::into_inner));
        report.check = Some(invariants::check(&ledger, &clients, SETTLE).await);
    }
    if options.json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    match &report.check {
        Some(check) if !check.violations.is_empty() => Err(format!(
            "{} checkout invariants broken",
            check.violations.len()
        )),
        _ => Ok(()),
    }
}

/// A shopper of the run: a guest session, and its name in the ledger.
#[derive(Debug)]
struct Shopper {
    id: ShopperId,
    session: Session,
}

/// Opens `count` guest sessions, sixteen at a time, and writes them in `ledger`.
async fn open_sessions(
    target: &Target,
    count: usize,
    ledger: &mut Ledger,
) -> Result<Vec<Shopper>, String> {
    let mut shoppers = Vec::with_capacity(count);
    while shoppers.len() < count {
        let batch = (count - shoppers.len()).min(16);
        let sessions = futures_util::future::join_all((0..batch).map(|_| target.guest())).await;
        for session in sessions {
            let session = session
                .map_err(|failure| format!("cannot open a guest session: {}", failure.label))?;
            let id = ledger.shopper(session.access_token.clone(), session.refresh_token.clone());
            shoppers.push(Shopper { id, session });
        }
    }
    Ok(shoppers)
}

/// A run's own id, the prefix of every `request_id` it sends: the time and the process,
/// so that no two runs share one.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("load-{:x}-{:x}", nanos % (1 << 64), std::process::id())
}

/// The words of the products' names a search may look for (three letters or more).
fn search_words(products: &[Product]) -> Vec<String> {
    let mut words: Vec<String> = products
        .iter()
        .flat_map(|product| product.name.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// What every operation of a run shares.
struct Run {
    target: Target,
    products: Vec<Product>,
    words: Vec<String>,
    mix: Mix,
    recorder: Recorder,
    ledger: Mutex<Ledger>,
    run_id: String,
    next_id: AtomicU64,
}

impl Run {
    /// A `request_id` no other call of any run uses.
    fn request_id(&self) -> String {
        format!(
            "{}-{}",
            self.run_id,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn any_product(&self, rng: &mut fastrand::Rng) -> &str {
        &self.products[rng.usize(..self.products.len())].id
    }

    /// Runs `operation` (as `shopper` when it needs one) and records how it went, its
    /// latency counted from `due`.
    async fn perform(
        &self,
        operation: Operation,
        shopper: Option<&Shopper>,
        rng: &mut fastrand::Rng,
        due: Instant,
    ) {
        let outcome = match (operation, shopper) {
            (Operation::Browse, _) => self.target.browse().await,
            (Operation::Search, _) => {
                let query = if self.words.is_empty() {
                    "a".to_owned()
                } else {
                    self.words[rng.usize(..self.words.len())].clone()
                };
                self.target.search(&query).await
            }
            (Operation::Product, _) => self.target.product(self.any_product(rng)).await,
            (Operation::Cart, Some(shopper)) => self.cart(shopper, rng).await,
            (Operation::Checkout, Some(shopper)) => {
                return self.checkout(shopper, rng, due).await;
            }
            (Operation::History, Some(shopper)) => self.target.history(&shopper.session).await,
            (Operation::Home, Some(shopper)) => self.target.home(&shopper.session).await,
            // Every caller hands a shopper to the operations that need one.
            (
                Operation::Cart | Operation::Checkout | Operation::History | Operation::Home,
                None,
            ) => {
                unreachable!("{operation} runs only as a shopper")
            }
        };
        self.recorder.record(
            operation,
            due.elapsed(),
            outcome.map_err(|failure| failure.label),
        );
    }

    /// One unit more of a product in the cart (taken out again once the cart holds five,
    /// so that carts stay the size of a shopper's), then the cart.
    async fn cart(
        &self,
        shopper: &Shopper,
        rng: &mut fastrand::Rng,
    ) -> Result<(), target::Failure> {
        let product = self.any_product(rng);
        let units = self
            .target
            .add_item(&shopper.session, product, &self.request_id())
            .await?;
        if units >= 5 {
            self.target.remove_item(&shopper.session, product).await?;
        }
        self.target.cart(&shopper.session).await
    }

    /// Fills the cart with one to three products and places the order, trying again with
    /// the same `request_id` after a transient failure; records the outcome.
    async fn checkout(&self, shopper: &Shopper, rng: &mut fastrand::Rng, due: Instant) {
        let outcome = self.place(shopper, rng).await;
        self.recorder
            .record(Operation::Checkout, due.elapsed(), outcome);
    }

    async fn place(&self, shopper: &Shopper, rng: &mut fastrand::Rng) -> Result<(), String> {
        for _ in 0..rng.usize(1..=3) {
            let product = self.any_product(rng);
            self.target
                .add_item(&shopper.session, product, &self.request_id())
                .await
                .map_err(|failure| failure.label)?;
        }
        let request_id = self.request_id();
        let give_up = Instant::now() + CHECKOUT_PATIENCE;
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.target.place_order(&shopper.session, &request_id).await {
                Ok(placed) => {
                    self.recorder.acknowledged();
                    self.ledger
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .acknowledged(shopper.id, placed.order_id);
                    return if placed.failed {
                        Err("OrderFailed".to_owned())
                    } else {
                        Ok(())
                    };
                }
                Err(failure) if failure.transient => {
                    // Full jitter over the upper half, never shorter than the shop asked.
                    let jittered = backoff.mul_f64(0.5 + rng.f64() / 2.0);
                    let wait = jittered.max(failure.pushback.unwrap_or_default());
                    if Instant::now() + wait >= give_up {
                        return Err(failure.label);
                    }
                    self.recorder.retried();
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
                Err(failure) => return Err(failure.label),
            }
        }
    }
}

/// The open loop: arrivals as the plan schedules them, each operation a task of its own.
async fn open_loop(run: &Arc<Run>, plan: &Plan, shoppers: Vec<Shopper>, seed: u64) {
    let pool = Arc::new(Pool {
        free: Semaphore::new(shoppers.len()),
        shoppers: Mutex::new(shoppers),
    });
    let in_flight = Arc::new(Semaphore::new(MOST_IN_FLIGHT));
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tasks = JoinSet::new();
    let start = tokio::time::Instant::now();
    for at in plan.arrivals() {
        let due = start + at;
        tokio::time::sleep_until(due).await;
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let operation = run.mix.pick(&mut rng);
        let mut rng = fastrand::Rng::with_seed(rng.u64(..));
        let (run, pool) = (run.clone(), pool.clone());
        let due = due.into_std();
        tasks.spawn(async move {
            if operation.needs_shopper() {
                let shopper = pool.take().await;
                if let Some(shopper) = shopper {
                    run.perform(operation, Some(&shopper), &mut rng, due).await;
                    pool.give_back(shopper);
                }
            } else {
                run.perform(operation, None, &mut rng, due).await;
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// The shoppers of an open loop, lent to one operation at a time.
struct Pool {
    free: Semaphore,
    shoppers: Mutex<Vec<Shopper>>,
}

impl Pool {
    async fn take(&self) -> Option<Shopper> {
        // The semaphore is never closed; its permits count the shoppers in the vector.
        self.free.acquire().await.ok()?.forget();
        self.shoppers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, shopper: Shopper) {
        self.shoppers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(shopper);
        self.free.add_permits(1);
    }
}

/// The closed loop: each shopper runs operations back to back while the plan's level is
/// above its number.
async fn closed_loop(run: &Arc<Run>, plan: &Plan, shoppers: Vec<Shopper>, seed: u64) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // parsed bounds
    let count = plan.peak().ceil() as usize;
    let start = Instant::now();
    let mut shoppers = shoppers.into_iter();
    let mut tasks = JoinSet::new();
    for number in 0..count {
        let shopper = shoppers.next();
        let (run, plan) = (run.clone(), plan.clone());
        // Distinct, reproducible draws for every shopper.
        let mut rng = fastrand::Rng::with_seed(
            seed ^ (number as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        tasks.spawn(async move {
            #[allow(clippy::cast_precision_loss)] // far below 2^52 shoppers
            let me = number as f64;
            while let Some(level) = plan.level_at(start.elapsed()) {
                if me >= level.round() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let operation = run.mix.pick(&mut rng);
                run.perform(operation, shopper.as_ref(), &mut rng, Instant::now())
                    .await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Prints, every second, the time so far, the operations of the last second, the errors
/// and the p99 so far, on one line of stderr.
async fn show_progress(run: Arc<Run>) {
    let start = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut last = 0;
    loop {
        ticks.tick().await;
        let now = run.recorder.progress();
        eprint!(
            "\r{:>5.0} s {:>9} ops/s {:>7} errors  p99 {:>9.2} ms  ",
            start.elapsed().as_secs_f64(),
            now.count - last,
            now.errors,
            now.p99.as_secs_f64() * 1000.0,
        );
        last = now.count;
    }
}
