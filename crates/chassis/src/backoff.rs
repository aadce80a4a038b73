//! Waiting longer after each failure: the one exponential backoff of every retry loop.
//!
//! A loop that retries something which may take a while to come back (a database that is
//! still starting, an event stream whose server restarts, a saga step whose downstream
//! service is down, a supervised process that keeps dying) waits between tries: first a
//! little, then `factor` times longer each time, never longer than a bound, and from the
//! start again once a try succeeds. [`Backoff`] is that schedule as a value, so each loop
//! says only its numbers.
//!
//! Time is not its business: [`Backoff::next_delay`] hands out the next delay and the
//! caller sleeps it on the Tokio clock, which tests pause (`tokio::time::pause()`) instead of
//! sleeping for real. [`Backoff::wait`] is that sleep for the common case, cut short when a
//! [`Shutdown`] fires so that no retry loop holds a stop up.
//!
//! Jitter spreads out the retries of parties that failed together, so that they do not
//! collide again in step (transactions that conflicted, many clients of one restarted
//! server). A single process waiting for its own database needs none, and gets none unless
//! asked. The random numbers need no secrecy: a small generator (SplitMix64) seeded once from
//! the operating system, or from a fixed seed so that a test can predict every delay.

use std::time::Duration;

use crate::shutdown::{Shutdown, Slept};

/// The factor a delay grows by unless told otherwise.
pub const DEFAULT_FACTOR: u32 = 2;

/// How a delay is spread out at random.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the delay.
    #[default]
    None,
    /// Anywhere from zero up to the delay ("full jitter"): spreads retries the most.
    Full,
    /// From half the delay up to the delay ("equal jitter"): spread, yet never much sooner.
    Equal,
    /// The delay and up to `percent` % more. The only kind that may wait longer than the
    /// bound: at most the bound plus `percent` % of it.
    Added {
        /// How much longer, at most, in percent of the delay.
        percent: u32,
    },
}

/// An exponential backoff schedule: `initial`, then `factor` times more each time up to
/// `max`, with optional [`Jitter`]; [`Backoff::reset`] starts it over.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: u32,
    jitter: Jitter,
    /// The next delay before jitter.
    next: Duration,
    random: SplitMix64,
}

impl Backoff {
    /// Starts at `initial` and doubles up to `max` (taken as `initial` if it is smaller),
    /// without jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            factor: DEFAULT_FACTOR,
            jitter: Jitter::None,
            next: initial,
            random: SplitMix64::from_os(),
        }
    }

    /// Grows by `factor` instead of 2; a factor of 1 (or 0, taken as 1) keeps the delay
    /// constant.
    pub fn with_factor(mut self, factor: u32) -> Self {
        self.factor = factor.max(1);
        self
    }

    /// Spreads each delay out with `jitter`.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Draws the jitter from a generator seeded with `seed` rather than by the operating
    /// system, so that the delays can be predicted (tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.random = SplitMix64(seed);
        self
    }

    /// The delay to wait before the next try; the one after will be longer, up to the bound.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        // A delay too long to be multiplied is past any bound already.
        self.next = base
            .checked_mul(self.factor)
            .map_or(self.max, |grown| grown.min(self.max));
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => self.random.share_of(base),
            Jitter::Equal => {
                let half = base / 2;
                half + self.random.share_of(base - half)
            }
            Jitter::Added { percent } => {
                let most = nanos_to_duration(base.as_nanos() * u128::from(percent) / 100);
                base.saturating_add(self.random.share_of(most))
            }
        }
    }

    /// Starts the schedule over: the next delay is `initial` again. Call it after a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }

    /// Sleeps the next delay, or less if `shutdown` fires first.
    pub async fn wait(&mut self, shutdown: &Shutdown) -> Slept {
        let delay = self.next_delay();
        shutdown.sleep(delay).await
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and good enough to spread delays.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded by the operating system; should it fail, by the clock, which spreads delays
    /// just as well.
    fn from_os() -> Self {
        Self(os_seed())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(SPLITMIX_GAMMA);
        splitmix_mix(self.0)
    }

    /// A random share of `whole`: from zero (included) up to `whole` (excluded, or zero).
    fn share_of(&mut self, whole: Duration) -> Duration {
        // 32 random bits are precise enough, and keep the product within 128 bits: the
        // longest Duration has fewer than 2^95 nanoseconds.
        let fraction = self.next_u64() >> 32;
        nanos_to_duration((whole.as_nanos() * u128::from(fraction)) >> 32)
    }
}

/// The step SplitMix64 adds to its state for every number it draws.
pub(crate) const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output for the state `state`: a counter stepped by [`SPLITMIX_GAMMA`] and
/// mixed by this function makes the sequence, so a shared generator can be a single atomic
/// counter.
pub(crate) fn splitmix_mix(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed from the operating system, or from the clock should that fail.
pub(crate) fn os_seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64)
    })
}

/// A number of nanoseconds as a `Duration`, saturating at the longest one.
fn nanos_to_duration(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder of a division by 10^9 fits in a u32.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn delays(backoff: &mut Backoff, count: usize) -> Vec<Duration> {
        (0..count).map(|_| backoff.next_delay()).collect()
    }

    #[test]
    fn delays_grow_by_the_factor_up_to_the_bound_and_start_over_on_reset() {
        let mut backoff = Backoff::new(ms(100), ms(1_000));
        assert_eq!(
            delays(&mut backoff, 7),
            [100, 200, 400, 800, 1_000, 1_000, 1_000].map(ms)
        );
        backoff.reset();
        assert_eq!(delays(&mut backoff, 2), [ms(100), ms(200)]);

        let mut tripling = Backoff::new(ms(10), ms(100)).with_factor(3);
        assert_eq!(delays(&mut tripling, 4), [10, 30, 90, 100].map(ms));

        let mut constant = Backoff::new(ms(50), ms(500)).with_factor(0);
        assert_eq!(delays(&mut constant, 3), [ms(50); 3]);
    }

    #[test]
    fn a_bound_below_the_first_delay_is_the_first_delay() {
        let mut backoff = Backoff::new(ms(100), ms(10));
        assert_eq!(delays(&mut backoff, 3), [ms(100); 3]);
    }

    #[test]
    fn huge_delays_saturate_instead_of_overflowing() {
        let mut backoff = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX)
            .with_factor(u32::MAX)
            .with_jitter(Jitter::Added { percent: u32::MAX });
        for _ in 0..5 {
            assert!(backoff.next_delay() >= Duration::from_secs(u64::MAX / 2));
        }
        assert_eq!(nanos_to_duration(u128::MAX), Duration::MAX);
        assert_eq!(
            nanos_to_duration(1_500_000_001),
            Duration::new(1, 500_000_001)
        );
    }

    #[test]
    fn jitter_stays_within_its_range() {
        let bases = [10, 20, 40, 80, 160, 200, 200, 200].map(ms);
        for seed in 0..200 {
            let mut full = Backoff::new(ms(10), ms(200))
                .with_jitter(Jitter::Full)
                .with_seed(seed);
            let mut equal = Backoff::new(ms(10), ms(200))
                .with_jitter(Jitter::Equal)
                .with_seed(seed);
            let mut added = Backoff::new(ms(10), ms(200))
                .with_jitter(Jitter::Added { percent: 50 })
                .with_seed(seed);
            for base in bases {
                assert!(full.next_delay() < base);
                let equal = equal.next_delay();
                assert!(base / 2 <= equal && equal < base, "{equal:?} for {base:?}");
                let added = added.next_delay();
                assert!(
                    base <= added && added < base * 3 / 2,
                    "{added:?} for {base:?}"
                );
            }
        }
    }

    #[test]
    fn jitter_is_random_yet_repeatable_from_a_seed() {
        let jittered = |seed| {
            let mut backoff = Backoff::new(ms(100), ms(10_000))
                .with_jitter(Jitter::Full)
                .with_seed(seed);
            delays(&mut backoff, 8)
        };
        assert_eq!(jittered(7), jittered(7));
        assert_ne!(jittered(7), jittered(8));
        // Seeded by the operating system, two schedules differ.
        let from_os = || {
            let mut backoff = Backoff::new(ms(100), ms(10_000)).with_jitter(Jitter::Full);
            delays(&mut backoff, 8)
        };
        assert_ne!(from_os(), from_os());
    }

    #[tokio::test(start_paused = true)]
    async fn wait_sleeps_each_delay_on_the_tokio_clock() {
        let shutdown = Shutdown::new();
        let mut backoff = Backoff::new(ms(100), ms(300));
        let start = Instant::now();
        for total in [100, 300, 600, 900] {
            assert_eq!(backoff.wait(&shutdown).await, Slept::Elapsed);
            assert_eq!(start.elapsed(), ms(total));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn wait_ends_early_when_the_shutdown_fires() {
        let shutdown = Shutdown::new();
        let mut backoff = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ms(250)).await;
            trigger.trigger();
        });
        let start = Instant::now();
        assert_eq!(backoff.wait(&shutdown).await, Slept::Stopped);
        assert_eq!(start.elapsed(), ms(250));
        // Stopped already: no wait at all.
        assert_eq!(backoff.wait(&shutdown).await, Slept::Stopped);
        assert_eq!(start.elapsed(), ms(250));
    }
}
