//! The shop's vital signs, from every service's `/metrics`: how many calls a second each
//! serves, how many of them fail, how long they take, how many orders end in each state a
//! minute, and how far each event consumer is behind the orders' outbox.
//!
//! A [`Board`] scrapes every service's admin listener every few seconds
//! ([`chassis::scrape::fetch`]), digests each scrape to the few sums it needs
//! ([`digest`]), and keeps them for [`HISTORY`] (fifteen minutes): a few dozen numbers a
//! scrape, so the history stays small whatever the services export. [`Board::vitals`]
//! reads it into figures and graph points with the arithmetic of [`chassis::scrape`]
//! ([`summary`]). The storefront's status page and `bazaar top` both read a `Board`: the
//! numbers are computed in one place.
//!
//! The board never blocks a page: pages read what it holds. A service that is down or
//! serves no metrics is recorded as such, and its figures stay unknown (never zero).

pub mod digest;
pub mod summary;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chassis::Shutdown;
use chassis::scrape::{Scrape, fetch};

pub use summary::{
    ConsumerLag, InjectedFault, MetricsState, OrdersByState, Point, ServiceVitals, Vitals,
};

/// How long scrapes are kept.
pub const HISTORY: Duration = Duration::from_secs(15 * 60);
/// The most scrapes kept of one service, whatever the interval.
pub const MAX_SCRAPES: usize = 1_000;
/// How long one scrape may take.
pub const SCRAPE_LIMIT: Duration = Duration::from_secs(2);
/// The most bytes one `/metrics` answer may have.
pub const SCRAPE_CAP: usize = 8 * 1024 * 1024;

/// One service's admin listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The service's name in the service table.
    pub service: &'static str,
    /// `host:port` of its admin listener.
    pub address: String,
}

/// What is known of one service.
#[derive(Debug, Default)]
struct History {
    /// Digested scrapes, oldest first, within [`HISTORY`].
    scrapes: VecDeque<Scrape>,
    /// Whether the last scrape failed, and why.
    failure: Option<String>,
    /// Whether any scrape was tried yet.
    tried: bool,
    /// Whether the last scrape that answered had no sample at all.
    empty: bool,
}

/// Scrapes every service and remembers what they said; shared by the page handlers and
/// the task that scrapes.
#[derive(Debug)]
pub struct Board {
    targets: Vec<Target>,
    histories: Mutex<BTreeMap<&'static str, History>>,
}

impl Board {
    /// A board for `targets`, with no history yet.
    pub fn new(targets: Vec<Target>) -> Arc<Self> {
        Arc::new(Self {
            targets,
            histories: Mutex::new(BTreeMap::new()),
        })
    }

    /// The services it scrapes.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Scrapes every service once, concurrently, and records what each said at `now`
    /// (seconds since the Unix epoch).
    pub async fn scrape_all(&self) {
        let fetches = self.targets.iter().map(|target| async move {
            let answer = fetch(&target.address, SCRAPE_LIMIT, SCRAPE_CAP).await;
            (target.service, answer)
        });
        let answers = futures_util::future::join_all(fetches).await;
        let now = now_secs();
        let mut histories = self
            .histories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (service, answer) in answers {
            let history = histories.entry(service).or_default();
            history.tried = true;
            match answer {
                Ok(exposition) => {
                    history.failure = None;
                    history.empty = exposition.is_empty();
                    history.scrapes.push_back(Scrape {
                        at: now,
                        exposition: Arc::new(digest::digest(service, &exposition)),
                    });
                }
                Err(error) => {
                    tracing::debug!(service, %error, "cannot scrape metrics");
                    history.failure = Some(error.to_string());
                }
            }
            let oldest = now - HISTORY.as_secs_f64();
            while history
                .scrapes
                .front()
                .is_some_and(|scrape| scrape.at < oldest)
                || history.scrapes.len() > MAX_SCRAPES
            {
                history.scrapes.pop_front();
            }
        }
    }

    /// Scrapes every `every` on a task of its own until `shutdown`.
    pub fn spawn(self: &Arc<Self>, every: Duration, shutdown: Shutdown) {
        let board = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => board.scrape_all().await,
                    () = shutdown.wait() => return,
                }
            }
        });
    }

    /// The figures and graph points of every service, as of now.
    pub fn vitals(&self) -> Vitals {
        let histories = self
            .histories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = now_secs();
        let services = self
            .targets
            .iter()
            .map(|target| {
                let history = histories.get(target.service);
                let state = match history {
                    None => MetricsState::Waiting,
                    Some(h) if !h.tried => MetricsState::Waiting,
                    Some(h) if h.failure.is_some() => MetricsState::Unreachable,
                    Some(h) if h.empty => MetricsState::Empty,
                    Some(_) => MetricsState::Scraped,
                };
                let scrapes: Vec<Scrape> = history
                    .map(|h| h.scrapes.iter().cloned().collect())
                    .unwrap_or_default();
                summary::service(
                    target,
                    state,
                    history.and_then(|h| h.failure.clone()),
                    &scrapes,
                    now,
                )
            })
            .collect();
        let all: Vec<(&str, Vec<Scrape>)> = histories
            .iter()
            .map(|(service, h)| (*service, h.scrapes.iter().cloned().collect()))
            .collect();
        summary::shop(services, &all, now)
    }
}

/// Seconds since the Unix epoch.
fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
