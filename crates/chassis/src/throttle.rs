//! Client-side adaptive throttling: a caller stops sending what its callee would refuse.
//!
//! A server over its limit ([`crate::limit`]) refuses calls at once, but a refusal is not
//! free: the request still crosses TLS and HTTP/2 and is parsed before it can be refused.
//! For a cheap call (a currency `Convert` is a few microseconds of work inside tens of
//! microseconds of transport) a refusal costs the server most of what an answer costs, so a
//! server refusing the excess of 1.7× its capacity has little left to serve with. The
//! refusals have to stop at the callers.
//!
//! Each [`crate::client::Upstream`] keeps, over the last [`WINDOW`] or so, how many calls
//! its process tried to make (`requests`) and how many the callee accepted (`accepts`: every
//! answer except an overload refusal, `RESOURCE_EXHAUSTED` with a pushback), and refuses a
//! new call locally, without sending it, with probability
//!
//! ```text
//! p = max(0, (requests − K × accepts − F) / (requests + 1))
//! ```
//!
//! (the adaptive throttling of Google's SRE book, "Handling Overload", with a floor `F`,
//! [`TOLERATED_REFUSALS`]: a quiet caller that meets a few refusals, one busy replica among
//! several, keeps sending; throttling is for a callee that refuses steadily). While the callee
//! accepts everything, `p` is 0. When it refuses, the caller sends about `K` times what it
//! accepts and refuses the rest itself, in microseconds: the callee spends its time on
//! answers, and some excess still reaches it, so the caller learns as soon as it has
//! room again. `K` is [`ACCEPTS_MULTIPLIER`], 1.1: the book's 2 leaves a callee refusing
//! as much as it serves, which is affordable for expensive calls and ruinous for cheap
//! ones.
//!
//! Never refused locally: health checks, and continuations of accepted work
//! ([`crate::priority`]), which the callee admits before new work anyway. A connection
//! that fails counts neither way: that is an outage, for the retries and the balancer's
//! ejection, not an overload.
//!
//! A local refusal is `RESOURCE_EXHAUSTED` ("not sent"), carries no pushback and is never
//! retried (see [`crate::retry`]): retrying what the caller itself declined to send would
//! undo the throttling. Counted in `bazaar_client_throttled_total{callee}`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use metrics::SharedString;
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::backoff::{SPLITMIX_GAMMA, os_seed, splitmix_mix};
use crate::client::BoxError;
use crate::retry::PUSHBACK;
use crate::rpc::{self, HEALTH_PATH};

/// `K`: a caller sends up to this many times what its callee accepts.
pub const ACCEPTS_MULTIPLIER: f64 = 1.1;
/// `F`: refusals in a window beyond what `K` allows that are let through as they are.
pub const TOLERATED_REFUSALS: f64 = 10.0;
/// How long a call is remembered, about: counts are kept in two buckets of this length,
/// the older one fading out as the newer one fills.
pub const WINDOW: Duration = Duration::from_secs(1);

/// The marker on a response the throttle made itself: the call was never sent.
#[derive(Clone, Copy, Debug)]
pub struct Throttled;

/// Requests and accepts over a sliding window (see the [module](self) docs).
#[derive(Debug)]
pub struct Throttle {
    multiplier: f64,
    window: Duration,
    counts: Mutex<Buckets>,
    random: AtomicU64,
}

#[derive(Debug)]
struct Buckets {
    started: Instant,
    current: Counts,
    previous: Counts,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    requests: f64,
    accepts: f64,
}

impl Throttle {
    /// A throttle that sends up to `multiplier` times what is accepted, over about
    /// `window`.
    pub fn new(multiplier: f64, window: Duration, now: Instant) -> Self {
        Self {
            multiplier,
            window: window.max(Duration::from_millis(1)),
            counts: Mutex::new(Buckets {
                started: now,
                current: Counts::default(),
                previous: Counts::default(),
            }),
            random: AtomicU64::new(os_seed()),
        }
    }

    /// The chance that a call made at `now` is refused locally.
    pub fn rejection_probability(&self, now: Instant) -> f64 {
        let Ok(mut buckets) = self.counts.lock() else {
            return 0.0;
        };
        let counts = buckets.sliding(now, self.window);
        let excess = counts.requests - self.multiplier * counts.accepts - TOLERATED_REFUSALS;
        (excess / (counts.requests + 1.0)).max(0.0)
    }

    /// Whether a call made at `now` is sent; one that is not is counted as a request.
    pub fn admit(&self, now: Instant) -> bool {
        let p = self.rejection_probability(now);
        if p <= 0.0 {
            return true;
        }
        let draw = splitmix_mix(self.random.fetch_add(SPLITMIX_GAMMA, Ordering::Relaxed));
        // 53 random bits make a uniform number in 0..1.
        let uniform = (draw >> 11) as f64 / (1u64 << 53) as f64;
        if uniform >= p {
            return true;
        }
        self.record(now, false);
        false
    }

    /// A call made at `now` was answered: `accepted` unless it was an overload refusal.
    pub fn record(&self, now: Instant, accepted: bool) {
        let Ok(mut buckets) = self.counts.lock() else {
            return;
        };
        buckets.roll(now, self.window);
        buckets.current.requests += 1.0;
        if accepted {
            buckets.current.accepts += 1.0;
        }
    }
}

impl Buckets {
    /// Moves the buckets on to `now`.
    fn roll(&mut self, now: Instant, window: Duration) {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed < window {
            return;
        }
        // One window on: the current bucket becomes the previous one; more: both are old.
        self.previous = if elapsed < window * 2 {
            self.current
        } else {
            Counts::default()
        };
        self.current = Counts::default();
        let windows = (elapsed.as_nanos() / window.as_nanos()) as u32;
        self.started += window * windows;
    }

    /// The counts of the last window: the current bucket and the part of the previous one
    /// that the window still covers.
    fn sliding(&mut self, now: Instant, window: Duration) -> Counts {
        self.roll(now, window);
        let into = now.saturating_duration_since(self.started).as_secs_f64() / window.as_secs_f64();
        let kept = (1.0 - into).clamp(0.0, 1.0);
        Counts {
            requests: self.current.requests + self.previous.requests * kept,
            accepts: self.current.accepts + self.previous.accepts * kept,
        }
    }
}

/// Layer of client-side throttling for the calls to one callee (see the [module](self)
/// docs); its clones share one [`Throttle`].
#[derive(Clone, Debug)]
pub struct ThrottleLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    callee: SharedString,
    throttle: Throttle,
}

impl ThrottleLayer {
    /// Throttling of the calls to `callee` (a service of the table, for the metrics and
    /// the message of a local refusal).
    pub fn new(callee: &str) -> Self {
        Self {
            shared: Arc::new(Shared {
                callee: callee.to_owned().into(),
                throttle: Throttle::new(ACCEPTS_MULTIPLIER, WINDOW, Instant::now()),
            }),
        }
    }
}

impl<S> Layer<S> for ThrottleLayer {
    type Service = ThrottleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ThrottleService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`ThrottleLayer`].
#[derive(Clone, Debug)]
pub struct ThrottleService<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> Service<Request<Body>> for ThrottleService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let exempt = request.uri().path().starts_with(HEALTH_PATH)
            || request
                .headers()
                .get(crate::priority::HEADER)
                .is_some_and(|value| value.as_bytes() == crate::priority::CONTINUATION.as_bytes());
        let shared = self.shared.clone();
        if !exempt && !shared.throttle.admit(Instant::now()) {
            metrics::counter!("bazaar_client_throttled_total", "callee" => shared.callee.clone())
                .increment(1);
            let mut response = Status::resource_exhausted(format!(
                "not sent: {} is refusing calls as overloaded, and this process holds back \
                 what it would refuse (client-side throttling)",
                shared.callee
            ))
            .into_http::<Body>();
            response.extensions_mut().insert(Throttled);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            if let Ok(answer) = &result {
                shared
                    .throttle
                    .record(Instant::now(), !overload_refusal(answer));
            }
            result
        })
    }
}

/// Whether `response` is a callee's refusal for overload: `RESOURCE_EXHAUSTED` with a
/// pushback, as the chassis' limit answers.
fn overload_refusal(response: &Response<Body>) -> bool {
    rpc::status_in(response.headers()) == Some(rpc::RESOURCE_EXHAUSTED)
        && response.headers().contains_key(PUSHBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_is_refused_while_everything_is_accepted() {
        let start = Instant::now();
        let throttle = Throttle::new(1.1, ms(1000), start);
        for n in 0..10_000 {
            let now = start + Duration::from_micros(n * 300);
            assert!(throttle.admit(now));
            throttle.record(now, true);
        }
        assert_eq!(throttle.rejection_probability(start + ms(3000)), 0.0);
    }

    #[test]
    fn a_caller_sends_about_k_times_what_is_accepted() {
        // The callee accepts 1,000 calls a second; the caller offers 1,700.
        let start = Instant::now();
        let throttle = Throttle::new(1.1, ms(1000), start);
        let (mut sent, mut offered) = (0u32, 0u32);
        let mut accepted_this_second = 0u32;
        let mut second = 0;
        for n in 0..17_000u64 {
            let now = start + Duration::from_micros(n * 1_000_000 / 1_700);
            let this_second = (n / 1_700) as u32;
            if this_second != second {
                second = this_second;
                accepted_this_second = 0;
            }
            if n >= 3_400 {
                offered += 1;
            }
            if !throttle.admit(now) {
                continue;
            }
            let accepted = accepted_this_second < 1_000;
            accepted_this_second += u32::from(accepted);
            throttle.record(now, accepted);
            if n >= 3_400 {
                sent += 1;
            }
        }
        // After two seconds to settle: sent ≈ 1.1 × 1,000 a second of 1,700 offered.
        let share = f64::from(sent) / f64::from(offered);
        assert!(
            (0.58..0.72).contains(&share),
            "sent {sent} of {offered} ({share:.3})"
        );
    }

    #[test]
    fn refusals_fade_once_the_callee_accepts_again() {
        let start = Instant::now();
        let throttle = Throttle::new(1.1, ms(1000), start);
        for n in 0..1_000 {
            throttle.record(start + ms(n), false);
        }
        assert!(throttle.rejection_probability(start + ms(1000)) > 0.9);
        // The callee accepts everything from then on, one call a millisecond.
        for n in 1_000..1_500 {
            throttle.record(start + ms(n), true);
        }
        // Half a window on, half the refusals still count: (1000 − 1.1 × 500 − 10) / 1001.
        let p = throttle.rejection_probability(start + ms(1500));
        assert!((p - 440.0 / 1001.0).abs() < 1e-6, "{p}");
        for n in 1_500..2_000 {
            throttle.record(start + ms(n), true);
        }
        assert_eq!(throttle.rejection_probability(start + ms(2000)), 0.0);
    }

    #[test]
    fn a_few_refusals_of_a_quiet_caller_refuse_nothing() {
        let start = Instant::now();
        let throttle = Throttle::new(1.1, ms(1000), start);
        for n in 0..10 {
            throttle.record(start + ms(n), false);
        }
        assert_eq!(throttle.rejection_probability(start + ms(10)), 0.0);
        // From then on, each refusal counts: (12 − 0 − 10) / (12 + 1).
        throttle.record(start + ms(10), false);
        throttle.record(start + ms(11), false);
        let p = throttle.rejection_probability(start + ms(12));
        assert!((p - 2.0 / 13.0).abs() < 1e-9, "{p}");
    }
}
