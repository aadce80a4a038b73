//! Faults on demand: errors and latency injected into a running service's calls, so that
//! what the shop does when a callee fails or slows down can be seen on purpose, under load.
//!
//! The layer is off unless the process is given a fault file (`--chaos-file`,
//! `BAZAAR_CHAOS_FILE`, see [`crate::ServerArgs`]); without one the server's stack has no
//! such layer at all, so it costs nothing. `bazaar up --chaos` gives every service a file
//! and `bazaar chaos set|clear` rewrites it (atomically: a new file renamed over the old).
//!
//! The process watches the file, polling its modification every [`POLL_EVERY`]; a missing
//! file means no fault. Its content ([`FaultSet`], JSON) is read defensively: a file that
//! does not parse, or names a method the process does not serve, is refused with a warning
//! and the faults in force stay as they were. Every change is logged at INFO ("fault
//! injection active: ...") and exported: `bazaar_chaos_faults_active{grpc_method,fault}`
//! (one series per configured fault, its value the rate; a cleared fault reads 0) and
//! `bazaar_chaos_injected_total{grpc_method,fault}`. `grpc_method` is a method of the
//! contract or `*`, `fault` a code name or `latency`: label values are bounded by the
//! contract, never by a caller.
//!
//! The layer sits innermost in the server's stack, just above the routes: only calls that
//! the access rules admitted can meet a fault, and health and reflection never do (they
//! are not the service's own methods). On a call to a faulted method it draws once for the
//! latency (a sleep before the call is passed on, cut short by the call's deadline, which is
//! then answered `DEADLINE_EXCEEDED`) and once for the errors (answered without calling the
//! handler, with a message that says the fault was injected). The draws come from one
//! SplitMix64 sequence shared by every call through an atomic counter: no lock, no
//! allocation, and no secrecy needed.

pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use metrics::Counter;
use tonic::Status;
use tower::{Layer, Service};

pub use rules::{ErrorRate, FaultCode, FaultSet, LatencyRate, Rule};

use crate::backoff::{SPLITMIX_GAMMA, os_seed, splitmix_mix};
use crate::rpc::Methods;
use crate::shutdown::Shutdown;

/// How often the fault file is looked at.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// The largest fault file read; anything longer is refused as garbage.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The faults in force in one process, shared by the layer and the task that watches the
/// fault file.
#[derive(Debug)]
pub struct Faults {
    /// The full names of the services the server serves (`bazaar.payment.v1.PaymentService`):
    /// only their methods can be faulted.
    served: Vec<String>,
    active: RwLock<Arc<Active>>,
    random: AtomicU64,
}

/// The faults in force, by request path.
#[derive(Debug, Default)]
struct Active {
    by_path: HashMap<Box<str>, Arc<Fault>>,
    /// What was read, as it was read.
    set: FaultSet,
}

/// The faults of one method, ready for calls.
#[derive(Debug)]
struct Fault {
    /// Errors with the upper bound of their share of `[0, 1)`, in order.
    errors: Vec<(f64, tonic::Code, Counter)>,
    latency: Option<(Duration, f64, Counter)>,
}

impl Faults {
    /// No fault yet, for a server of the services `served` (full names).
    pub fn new(served: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            served: served.iter().map(ToString::to_string).collect(),
            active: RwLock::new(Arc::default()),
            random: AtomicU64::new(os_seed()),
        })
    }

    /// What is in force now.
    pub fn current(&self) -> FaultSet {
        self.active().set.clone()
    }

    fn active(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `set` in force, after checking it: every method it names must be served here.
    /// The gauges of faults it drops read 0 from now on.
    pub fn apply(&self, set: FaultSet) -> Result<(), String> {
        set.check()?;
        let methods = Methods::get();
        let mut own: Vec<(Box<str>, &str)> = Vec::new();
        for index in 0..methods.len() {
            let method = methods.method(index);
            if self.served.contains(&method.service) {
                own.push((
                    format!("/{}/{}", method.service, method.method).into(),
                    method.method.as_str(),
                ));
            }
        }
        for rule in &set.rules {
            if let Some(name) = &rule.method
                && !own.iter().any(|(_, method)| method == name)
            {
                return Err(format!("this process serves no method {name:?}"));
            }
        }
        let every = set.rules.iter().find(|rule| rule.method.is_none());
        let mut by_path = HashMap::new();
        let mut compiled: HashMap<&str, Arc<Fault>> = HashMap::new();
        for (path, method) in own {
            let rule = set
                .rules
                .iter()
                .find(|rule| rule.method.as_deref() == Some(method))
                .or(every);
            if let Some(rule) = rule {
                let fault = compiled
                    .entry(rule.label())
                    .or_insert_with(|| Arc::new(Fault::of(rule)))
                    .clone();
                by_path.insert(path, fault);
            }
        }

        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let before = series(&active.set);
        let after = series(&set);
        for (method, fault) in before.keys().filter(|key| !after.contains_key(*key)) {
            metrics::gauge!("bazaar_chaos_faults_active", "grpc_method" => method.clone(), "fault" => fault.clone())
                .set(0.0);
        }
        for ((method, fault), rate) in &after {
            metrics::gauge!("bazaar_chaos_faults_active", "grpc_method" => method.clone(), "fault" => fault.clone())
                .set(*rate);
        }
        *active = Arc::new(Active { by_path, set });
        Ok(())
    }

    /// The fault of the method at `path`, if any.
    fn fault_of(&self, path: &str) -> Option<Arc<Fault>> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_path
            .get(path)
            .cloned()
    }

    /// A number drawn uniformly from `[0, 1)`.
    fn draw(&self) -> f64 {
        let state = self
            .random
            .fetch_add(SPLITMIX_GAMMA, Ordering::Relaxed)
            .wrapping_add(SPLITMIX_GAMMA);
        // The top 53 bits make every double of [0, 1) on a grid of 2^-53.
        (splitmix_mix(state) >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Watches `file` on a task of its own until `shutdown`, putting what it says in force
    /// (see the module's documentation); reads it once now, before returning, so that the
    /// first call already meets the faults it names.
    pub fn watch(self: &Arc<Self>, service: &'static str, file: PathBuf, shutdown: Shutdown) {
        let mut watcher = Watcher {
            faults: Arc::clone(self),
            service,
            file,
            seen: None,
        };
        watcher.look();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(POLL_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => watcher.look(),
                    () = shutdown.wait() => return,
                }
            }
        });
    }
}

/// The series of `bazaar_chaos_faults_active` of `set`, with their values.
fn series(set: &FaultSet) -> BTreeMap<(String, String), f64> {
    let mut series = BTreeMap::new();
    for rule in &set.rules {
        for error in &rule.errors {
            series.insert(
                (rule.label().to_owned(), error.code.name().to_owned()),
                error.rate,
            );
        }
        if let Some(latency) = &rule.latency {
            series.insert(
                (rule.label().to_owned(), "latency".to_owned()),
                latency.rate,
            );
        }
    }
    series
}

impl Fault {
    fn of(rule: &Rule) -> Self {
        let method = rule.label().to_owned();
        let mut bound = 0.0;
        let errors = rule
            .errors
            .iter()
            .map(|error| {
                bound += error.rate;
                (
                    bound,
                    error.code.code(),
                    metrics::counter!("bazaar_chaos_injected_total", "grpc_method" => method.clone(), "fault" => error.code.name()),
                )
            })
            .collect();
        let latency = rule.latency.map(|latency| {
            (
                Duration::from_millis(latency.millis),
                latency.rate,
                metrics::counter!("bazaar_chaos_injected_total", "grpc_method" => method.clone(), "fault" => "latency"),
            )
        });
        Self { errors, latency }
    }
}

/// The file of one process, and what was last seen of it.
struct Watcher {
    faults: Arc<Faults>,
    service: &'static str,
    file: PathBuf,
    /// The file's identity and modification when last read (`None`: missing).
    seen: Option<Option<Stamp>>,
}

/// What tells one version of the file from another: a rename gives a new inode, a write in
/// place a new modification time or length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(file: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(file).ok()?;
    Some(Stamp {
        inode: metadata.ino(),
        modified: metadata.modified().ok(),
        len: metadata.len(),
    })
}

impl Watcher {
    /// Reads the file if it changed since last seen, and puts what it says in force.
    fn look(&mut self) {
        let now = stamp(&self.file);
        if self.seen == Some(now) {
            return;
        }
        self.seen = Some(now);
        let read = match now {
            None => Ok(FaultSet::default()),
            Some(stamp) if stamp.len > MAX_FILE_BYTES => Err(format!(
                "the file is {} bytes long, more than {MAX_FILE_BYTES}",
                stamp.len
            )),
            Some(_) => std::fs::read(&self.file)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        Ok(FaultSet::default())
                    } else {
                        serde_json::from_slice::<FaultSet>(&bytes).map_err(|e| e.to_string())
                    }
                }),
        };
        let applied = read.and_then(|set| {
            let unchanged = self.faults.current() == set;
            self.faults.apply(set).map(|()| unchanged)
        });
        match applied {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                service = self.service,
                file = %self.file.display(),
                faults = %self.faults.current().describe(),
                "fault injection active: {}",
                self.faults.current().describe()
            ),
            Err(error) => tracing::warn!(
                service = self.service,
                file = %self.file.display(),
                %error,
                faults = %self.faults.current().describe(),
                "fault file refused: the faults in force stay as they were"
            ),
        }
    }
}

/// Layer that injects the faults of a [`Faults`] (see the module's documentation).
#[derive(Clone, Debug)]
pub struct ChaosLayer {
    faults: Arc<Faults>,
}

impl ChaosLayer {
    /// Injects what `faults` holds at the time of each call.
    pub fn new(faults: Arc<Faults>) -> Self {
        Self { faults }
    }
}

impl<S> Layer<S> for ChaosLayer {
    type Service = Chaos<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Chaos {
            inner,
            faults: self.faults.clone(),
        }
    }
}

/// See [`ChaosLayer`].
#[derive(Clone, Debug)]
pub struct Chaos<S> {
    inner: S,
    faults: Arc<Faults>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Chaos<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<ResBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(fault) = self.faults.fault_of(request.uri().path()) else {
            return Box::pin(self.inner.call(request));
        };
        let delay = fault
            .latency
            .as_ref()
            .filter(|(_, rate, _)| self.faults.draw() < *rate)
            .map(|(delay, _, counter)| {
                counter.increment(1);
                *delay
            });
        let draw = self.faults.draw();
        let error = fault
            .errors
            .iter()
            .find(|(bound, ..)| draw < *bound)
            .map(|(_, code, counter)| (*code, counter.clone()));

        let Some(delay) = delay else {
            return match error {
                Some((code, counter)) => {
                    counter.increment(1);
                    Box::pin(std::future::ready(Ok(injected(code))))
                }
                None => Box::pin(self.inner.call(request)),
            };
        };
        // The call is passed on after the delay: take the service that was made ready, and
        // leave a clone for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let deadline = crate::deadline::current();
        Box::pin(async move {
            let until = tokio::time::Instant::now() + delay;
            match deadline {
                Some(deadline) if deadline < until => {
                    tokio::time::sleep_until(deadline).await;
                    return Ok(Status::deadline_exceeded(
                        "the call's deadline passed during latency injected by bazaar chaos",
                    )
                    .into_http());
                }
                _ => tokio::time::sleep_until(until).await,
            }
            match error {
                Some((code, counter)) => {
                    counter.increment(1);
                    Ok(injected(code))
                }
                None => inner.call(request).await,
            }
        })
    }
}

/// The answer of an injected error.
fn injected<B: Default>(code: tonic::Code) -> Response<B> {
    Status::new(code, "fault injected by bazaar chaos").into_http()
}
