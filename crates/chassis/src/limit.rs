//! The adaptive concurrency limit: admit what can be served in time, refuse the rest at
//! once.
//!
//! A server that admits every call turns overload into a queue: each call waits behind all
//! the others, every caller's latency grows until deadlines expire, and the process does
//! work nobody waits for any more. A fixed bound is either too high to stop the queue or
//! too low for a good day. So the bound follows what the process shows: how long admitted
//! calls take now compared with how long they take unloaded.
//!
//! # The algorithm: a gradient against each method's unloaded latency
//!
//! It is Netflix concurrency-limits' `Gradient` (the one with a no-load RTT, not
//! `Gradient2`'s long-term average, which under sustained overload drifts up with the
//! queue it should be removing), with one change for a process that serves very different
//! methods (a 50 µs `GetOrder` next to a 50 ms `PlaceOrder`): each sample is compared with
//! the no-load latency **of its own method**, so a window full of slow methods is not
//! taken for a slow process. Per [window](Settings::window) of samples:
//!
//! - `slowdown` = mean over the window of `latency / no-load latency of that method`
//!   (1 when nothing queues);
//! - `gradient` = `tolerance / slowdown`, kept within 0.5..=1: latency may grow to
//!   `tolerance` times its unloaded value before the limit shrinks, and one window shrinks
//!   it by at most half;
//! - `target` = `limit × gradient + √limit`, the square root being a small queue allowance
//!   that probes for more room; the allowance is only given when the window used at least
//!   half the limit (a process that is not busy learns nothing about its capacity);
//! - `limit` moves a fifth of the way to `target` (smoothing), within the floor and the
//!   ceiling.
//!
//! A method's no-load latency is the least it has taken, and it is let drift up slowly
//! (doubling per [`Settings::baseline_doubling`]), so a method that truly became slower
//! (a bigger table, a slower disk) is re-learned without a queue ever being mistaken
//! for it within a run.
//!
//! The algorithm is [`Gradient`], pure: samples in, limit out, time passed in by the
//! caller, so its tests drive it with explicit timestamps.
//!
//! # What is measured and what is held
//!
//! A call holds two places, released at different times:
//!
//! - under the **adaptive limit**, from admission until the response head is ready: for a
//!   unary call that is when the handler has answered, so the time is its latency, queueing
//!   in the runtime included. A stream (`StreamOrderEvents`, reflection) is admitted the
//!   same way, then leaves the adaptive limit once it is open and gives no sample: a
//!   stream's life is not a latency, and a few long-lived followers must not starve the
//!   calls the limit is for;
//! - under the **ceiling** (`--max-in-flight`), from admission until the response body ends
//!   or is dropped: streams included, so the process's open work stays bounded whatever the
//!   adaptive limit says.
//!
//! # Priorities and refusals
//!
//! Health checks are never limited nor counted (an orchestrator that sees a busy replica as
//! dead would restart it). A continuation ([`crate::priority`]) is admitted up to the whole
//! limit; new work only up to [`Settings::new_work_share`] of it, so accepted sagas and
//! event consumers still find room when new work is being refused.
//!
//! A refused call is answered at once, without reaching auth or a handler, with
//! `RESOURCE_EXHAUSTED`, a message saying the server is over its limit, and
//! `grpc-retry-pushback-ms`: the recent latency scaled by how far over the limit the process
//! is, within 10..=1000 ms (gRPC's retry policies read that key as "wait this long").
//! Refusals are counted in `bazaar_server_refused_total{reason="limit"}`; the limit now is
//! the gauge `bazaar_server_concurrency_limit`.
//!
//! The limit never queues: a call is admitted or refused in the `call` of the layer, with
//! one atomic compare-and-swap; the lock of the algorithm is taken once per finished call
//! to add its sample.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::priority::{self, Priority};
use crate::rpc::{HEALTH_PATH, Methods};

/// The least pushback hint given.
pub const MIN_PUSHBACK: Duration = Duration::from_millis(10);
/// The most pushback hint given.
pub const MAX_PUSHBACK: Duration = Duration::from_millis(1000);

/// How the limit adapts.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The limit before anything is measured.
    pub initial: usize,
    /// The floor: this many calls are always admitted (continuations; new work gets its
    /// share of it, at least one).
    pub min: usize,
    /// The ceiling of the adaptive limit (`--max-in-flight`).
    pub max: usize,
    /// How many times its unloaded latency a call may take before the limit shrinks.
    pub tolerance: f64,
    /// How far the limit moves toward its target per window (0..=1).
    pub smoothing: f64,
    /// The shortest window of samples.
    pub window: Duration,
    /// The fewest samples in a window.
    pub window_samples: u32,
    /// How long a method's no-load latency takes to double when nothing faster is seen.
    pub baseline_doubling: Duration,
    /// The share of the limit new work may use (the rest is kept for continuations).
    pub new_work_share: f64,
}

impl Settings {
    /// The shop's settings under a ceiling of `max` calls in flight.
    pub fn under(max: usize) -> Self {
        let max = max.max(1);
        Self {
            initial: max.min(64),
            min: max.min(16),
            max,
            tolerance: 2.0,
            smoothing: 0.2,
            window: Duration::from_millis(10),
            window_samples: 10,
            baseline_doubling: Duration::from_secs(30),
            new_work_share: 0.85,
        }
    }
}

/// The gradient algorithm (see the [module](self) docs): feed it finished calls, read the
/// limit.
#[derive(Debug)]
pub struct Gradient {
    settings: Settings,
    limit: f64,
    /// Per method index, its no-load latency in seconds (0 until it is first seen).
    no_load: Vec<f64>,
    window: Window,
    /// The mean latency of the last closed window, in seconds.
    recent: f64,
}

#[derive(Debug, Default)]
struct Window {
    start: Option<Instant>,
    slowdown_sum: f64,
    latency_sum: f64,
    samples: u32,
    busiest: usize,
}

impl Gradient {
    /// A limit at `settings.initial` for a process whose methods are numbered below
    /// `methods` (a larger index shares the last slot).
    pub fn new(settings: Settings, methods: usize) -> Self {
        let limit = settings.initial.clamp(settings.min, settings.max) as f64;
        Self {
            settings,
            limit,
            no_load: vec![0.0; methods.max(1)],
            window: Window::default(),
            recent: 0.0,
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// The mean latency of the last window (zero before the first closes).
    pub fn recent_latency(&self) -> Duration {
        Duration::from_secs_f64(self.recent)
    }

    /// A call of method `method` finished at `now` after `latency`, with `in_flight` calls
    /// (itself included) under the limit when it finished. Returns the new limit when this
    /// sample closed a window.
    pub fn sample(
        &mut self,
        now: Instant,
        method: usize,
        latency: Duration,
        in_flight: usize,
    ) -> Option<usize> {
        // A clock's resolution is not a latency: below a microsecond counts as one.
        let seconds = latency.as_secs_f64().max(1e-6);
        let slot = method.min(self.no_load.len() - 1);
        let no_load = &mut self.no_load[slot];
        if *no_load == 0.0 || seconds < *no_load {
            *no_load = seconds;
        }
        let slowdown = seconds / *no_load;

        let start = *self.window.start.get_or_insert(now);
        self.window.slowdown_sum += slowdown;
        self.window.latency_sum += seconds;
        self.window.samples += 1;
        self.window.busiest = self.window.busiest.max(in_flight);
        let elapsed = now.saturating_duration_since(start);
        if elapsed < self.settings.window || self.window.samples < self.settings.window_samples {
            return None;
        }

        let window = std::mem::take(&mut self.window);
        let samples = f64::from(window.samples);
        self.recent = window.latency_sum / samples;
        let slowdown = window.slowdown_sum / samples;
        let gradient = (self.settings.tolerance / slowdown).clamp(0.5, 1.0);
        let allowance = if window.busiest as f64 >= self.limit / 2.0 {
            self.limit.sqrt()
        } else {
            0.0
        };
        let target = self.limit * gradient + allowance;
        let smoothing = self.settings.smoothing;
        self.limit = (self.limit * (1.0 - smoothing) + target * smoothing)
            .clamp(self.settings.min as f64, self.settings.max as f64);

        let drift = (elapsed.as_secs_f64() / self.settings.baseline_doubling.as_secs_f64()).exp2();
        for no_load in &mut self.no_load {
            *no_load *= drift;
        }
        Some(self.limit())
    }
}

/// Why a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Over the adaptive limit (for its priority).
    Limit,
    /// Over the ceiling of calls and streams held open (`--max-in-flight`).
    Ceiling,
}

/// The shared state of one process's limit: who is in, and the algorithm.
#[derive(Debug)]
pub struct Limiter {
    gradient: Mutex<Gradient>,
    /// The adaptive limit now (a copy of the algorithm's, read without its lock).
    limit: AtomicUsize,
    /// Calls under the adaptive limit (admitted, response head not yet ready).
    active: AtomicUsize,
    /// Calls and streams under the ceiling (admitted, response body not yet ended).
    held: AtomicUsize,
    ceiling: usize,
    new_work_share: f64,
    /// The recent latency, in microseconds, for the pushback hint.
    recent_us: AtomicU64,
    /// Whether the limit adapts (off: the ceiling alone bounds the process).
    adaptive: bool,
}

impl Limiter {
    /// A limiter of gRPC calls with `settings`; `adaptive` false keeps the limit at the
    /// ceiling. Calls are told apart by their method (the process's table of methods).
    pub fn new(settings: Settings, adaptive: bool) -> Arc<Self> {
        Self::with_kinds(settings, adaptive, Methods::get().len())
    }

    /// A limiter of work of `kinds` kinds (numbered from 0, each with its own no-load
    /// latency), such as the gateway's pages.
    pub fn with_kinds(settings: Settings, adaptive: bool, kinds: usize) -> Arc<Self> {
        let ceiling = settings.max.max(1);
        let new_work_share = settings.new_work_share;
        let gradient = Gradient::new(settings, kinds);
        let limit = if adaptive { gradient.limit() } else { ceiling };
        record_limit(limit);
        Arc::new(Self {
            gradient: Mutex::new(gradient),
            limit: AtomicUsize::new(limit),
            active: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            ceiling,
            new_work_share,
            recent_us: AtomicU64::new(0),
            adaptive,
        })
    }

    /// The adaptive limit now.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// How many calls `priority` may have under the limit now.
    fn allowed(&self, priority: Priority) -> usize {
        let limit = self.limit();
        match priority {
            Priority::Continuation => limit,
            Priority::New => ((limit as f64 * self.new_work_share) as usize).max(1),
        }
    }

    /// Admits a call of `priority`, or says why not.
    pub fn try_admit(self: &Arc<Self>, priority: Priority) -> Result<Admitted, Refusal> {
        if self.held.fetch_add(1, Ordering::AcqRel) >= self.ceiling {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Ceiling);
        }
        let allowed = self.allowed(priority);
        let admitted = self
            .active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |active| {
                (active < allowed).then_some(active + 1)
            });
        if admitted.is_err() {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Limit);
        }
        Ok(Admitted {
            active: Active {
                limiter: self.clone(),
                started: Instant::now(),
            },
            held: Held {
                limiter: self.clone(),
                counted: crate::metrics::load::call_admitted(),
            },
        })
    }

    /// How long a refused caller should wait: the recent latency scaled by how far over
    /// the limit the process is, within [`MIN_PUSHBACK`]..=[`MAX_PUSHBACK`].
    pub fn pushback(&self) -> Duration {
        let recent = Duration::from_micros(self.recent_us.load(Ordering::Relaxed));
        let over = (self.active.load(Ordering::Relaxed) + 1) as f64 / self.limit().max(1) as f64;
        recent
            .mul_f64(over.max(1.0))
            .clamp(MIN_PUSHBACK, MAX_PUSHBACK)
    }

    fn finished(&self, method: usize, latency: Duration) {
        let in_flight = self.active.fetch_sub(1, Ordering::AcqRel);
        if !self.adaptive {
            return;
        }
        let Ok(mut gradient) = self.gradient.lock() else {
            return;
        };
        if let Some(limit) = gradient.sample(Instant::now(), method, latency, in_flight) {
            let recent = gradient.recent_latency();
            drop(gradient);
            self.recent_us.store(
                u64::try_from(recent.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            if self.limit.swap(limit, Ordering::Relaxed) != limit {
                record_limit(limit);
            }
        }
    }
}

fn record_limit(limit: usize) {
    metrics::gauge!("bazaar_server_concurrency_limit").set(limit as f64);
}

/// An admitted call's two places (see the [module](self) docs).
#[derive(Debug)]
pub struct Admitted {
    active: Active,
    held: Held,
}

impl Admitted {
    /// The response head of method `method` is ready: leave the adaptive limit, giving the
    /// call's latency as a sample when `sample` (not for streams); keep the place under the
    /// ceiling, returned for the body to hold.
    pub fn answered(self, method: usize, sample: bool) -> Held {
        let Admitted { active, held } = self;
        let latency = active.started.elapsed();
        let limiter = active.limiter.clone();
        std::mem::forget(active);
        if sample {
            limiter.finished(method, latency);
        } else {
            limiter.active.fetch_sub(1, Ordering::AcqRel);
        }
        held
    }
}

/// A place under the adaptive limit, given back without a sample if the call is dropped
/// before it answers (its caller went away: that is not a latency).
#[derive(Debug)]
struct Active {
    limiter: Arc<Limiter>,
    started: Instant,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.limiter.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A place under the ceiling, counted in `bazaar_server_in_flight_calls`, until dropped.
#[derive(Debug)]
pub struct Held {
    limiter: Arc<Limiter>,
    counted: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.limiter.held.fetch_sub(1, Ordering::AcqRel);
        if self.counted {
            crate::metrics::load::call_finished();
        }
    }
}

/// Layer of the process-wide concurrency limit (see the [module](self) docs).
#[derive(Clone, Debug)]
pub struct ConcurrencyLimitLayer {
    limiter: Arc<Limiter>,
}

impl ConcurrencyLimitLayer {
    /// An adaptive limit under a ceiling of `max_in_flight`; with `adaptive` false, the
    /// ceiling alone.
    pub fn new(max_in_flight: usize, adaptive: bool) -> Self {
        Self::with(Limiter::new(Settings::under(max_in_flight), adaptive))
    }

    /// The layer of `limiter`.
    pub fn with(limiter: Arc<Limiter>) -> Self {
        Self { limiter }
    }

    /// The limiter, to read its limit.
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// See [`ConcurrencyLimitLayer`].
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    limiter: Arc<Limiter>,
}

impl<S, ReqBody> Service<Request<ReqBody>> for ConcurrencyLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with(HEALTH_PATH) {
            return Box::pin(self.inner.call(request));
        }
        let methods = Methods::get();
        let method = methods.index_of(path);
        let unary = methods.method(method).grpc_type == "unary";
        let priority = priority::of_call(
            request.headers(),
            request.extensions().get::<crate::auth::Peer>(),
        );
        match self.limiter.try_admit(priority) {
            Ok(admitted) => {
                let response = priority::scope(priority, self.inner.call(request));
                Box::pin(async move {
                    let response = response.await?;
                    let held = admitted.answered(method, unary);
                    Ok(response.map(|body| Body::new(Holding { body, _held: held })))
                })
            }
            Err(refusal) => {
                crate::metrics::load::call_refused();
                let pushback = self.limiter.pushback();
                Box::pin(std::future::ready(Ok(refused(refusal, pushback))))
            }
        }
    }
}

/// The answer to a refused call: `RESOURCE_EXHAUSTED` with the pushback hint.
fn refused(refusal: Refusal, pushback: Duration) -> Response<Body> {
    let message = match refusal {
        Refusal::Limit => {
            "server is over its concurrency limit; call refused at once, retry after the pushback"
        }
        Refusal::Ceiling => {
            "server is at its hard limit of calls and streams in progress; call refused at once, retry after the pushback"
        }
    };
    crate::retry::refused(Status::resource_exhausted(message), pushback).into_http()
}

/// A response body that holds its call's place under the ceiling until it ends or is
/// dropped.
struct Holding {
    body: Body,
    _held: Held,
}

impl http_body::Body for Holding {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn settings() -> Settings {
        Settings {
            initial: 20,
            min: 4,
            max: 200,
            ..Settings::under(200)
        }
    }

    /// Feeds `windows` windows of `per_window` calls of method 0, each taking `latency`,
    /// with `in_flight` calls in flight, starting at `*now` and moving it on.
    fn run(
        gradient: &mut Gradient,
        now: &mut Instant,
        windows: usize,
        latency: Duration,
        in_flight: usize,
    ) -> usize {
        // A window spans its first to its last sample: this many samples, this far apart,
        // close exactly one.
        let per_window = gradient.settings.window_samples;
        let step = gradient.settings.window / (per_window - 1) + Duration::from_nanos(1);
        for _ in 0..windows {
            for _ in 0..per_window {
                *now += step;
                gradient.sample(*now, 0, latency, in_flight);
            }
        }
        gradient.limit()
    }

    #[test]
    fn a_busy_process_at_its_no_load_latency_grows_its_limit() {
        let mut now = Instant::now();
        let mut gradient = Gradient::new(settings(), 4);
        let later = run(&mut gradient, &mut now, 20, MS, 200);
        assert!(later > 20, "{later}");
    }

    #[test]
    fn an_idle_process_keeps_its_limit() {
        let mut now = Instant::now();
        let mut gradient = Gradient::new(settings(), 4);
        assert_eq!(run(&mut gradient, &mut now, 50, MS, 2), 20);
    }

    #[test]
    fn the_limit_falls_when_latency_rises_and_recovers_when_it_falls() {
        let mut now = Instant::now();
        let mut gradient = Gradient::new(settings(), 4);
        let calm = run(&mut gradient, &mut now, 10, MS, 40);
        // Within the tolerance: twice the no-load latency does not shrink it.
        let tolerated = run(&mut gradient, &mut now, 1, 2 * MS, 40);
        assert!(tolerated >= calm, "{calm} then {tolerated}");
        // Queueing: ten times the no-load latency, window after window.
        let mut previous = tolerated;
        for _ in 0..5 {
            let now_limit = run(&mut gradient, &mut now, 1, 10 * MS, previous);
            assert!(now_limit < previous, "{previous} then {now_limit}");
            previous = now_limit;
        }
        let floor = run(&mut gradient, &mut now, 100, 10 * MS, 200);
        assert_eq!(floor, 4, "held at the floor, never below");
        // The queue is gone: back to the no-load latency, and busy.
        let recovered = run(&mut gradient, &mut now, 30, MS, 200);
        assert!(recovered > 2 * floor, "{floor} then {recovered}");
    }

    #[test]
    fn slow_methods_are_compared_with_themselves() {
        let mut now = Instant::now();
        let mut gradient = Gradient::new(settings(), 4);
        let step = gradient.settings.window / gradient.settings.window_samples;
        // A fast method and a method fifty times slower, each at its own steady latency.
        for _ in 0..200 {
            now += step;
            gradient.sample(now, 0, MS, 30);
            now += step;
            gradient.sample(now, 1, 50 * MS, 30);
        }
        assert!(gradient.limit() > 20, "{}", gradient.limit());
    }

    #[test]
    fn the_limit_stays_within_floor_and_ceiling() {
        let mut now = Instant::now();
        let small = Settings {
            initial: 1_000,
            min: 3,
            max: 8,
            ..settings()
        };
        let mut gradient = Gradient::new(small, 1);
        assert_eq!(gradient.limit(), 8, "the initial limit is capped");
        assert_eq!(run(&mut gradient, &mut now, 50, MS, 8), 8);
        assert_eq!(run(&mut gradient, &mut now, 50, 100 * MS, 1), 3);
    }

    #[test]
    fn a_window_needs_both_its_time_and_its_samples() {
        let mut now = Instant::now();
        let mut gradient = Gradient::new(settings(), 1);
        for _ in 0..100 {
            assert_eq!(gradient.sample(now, 0, MS, 20), None, "no time has passed");
        }
        now += Duration::from_secs(1);
        assert!(gradient.sample(now, 0, MS, 20).is_some());
        now += Duration::from_secs(1);
        assert_eq!(
            gradient.sample(now, 0, MS, 20),
            None,
            "one sample is not a window"
        );
    }

    #[test]
    fn new_work_is_refused_before_continuations() {
        let limiter = Limiter::new(
            Settings {
                initial: 10,
                min: 10,
                max: 10,
                ..settings()
            },
            true,
        );
        let mut admitted = Vec::new();
        while let Ok(call) = limiter.try_admit(Priority::New) {
            admitted.push(call);
        }
        assert_eq!(admitted.len(), 8, "85 % of 10");
        assert_eq!(
            limiter.try_admit(Priority::New).unwrap_err(),
            Refusal::Limit
        );
        admitted.push(
            limiter
                .try_admit(Priority::Continuation)
                .expect("room kept"),
        );
        admitted.push(
            limiter
                .try_admit(Priority::Continuation)
                .expect("room kept"),
        );
        assert!(
            limiter.try_admit(Priority::Continuation).is_err(),
            "the whole limit is used"
        );
        // A stream leaves the limit once open but holds its place under the ceiling.
        let stream = admitted.pop().unwrap().answered(0, false);
        assert!(
            limiter.try_admit(Priority::Continuation).is_err(),
            "ceiling"
        );
        drop(stream);
        let again = limiter.try_admit(Priority::Continuation).expect("freed");
        drop(again);
        drop(admitted);
        assert_eq!(limiter.active.load(Ordering::Relaxed), 0);
        assert_eq!(limiter.held.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_pushback_is_bounded() {
        let limiter = Limiter::new(settings(), true);
        assert_eq!(limiter.pushback(), MIN_PUSHBACK);
        limiter.recent_us.store(5_000_000, Ordering::Relaxed);
        assert_eq!(limiter.pushback(), MAX_PUSHBACK);
        limiter.recent_us.store(40_000, Ordering::Relaxed);
        assert_eq!(limiter.pushback(), 40 * MS);
    }
}
