//! A short-lived, in-process cache for what every shopper sees alike: the categories, pages
//! of products, the best sellers. Each home page would otherwise ask the catalog and the
//! recommendation service for the same answers hundreds of times a second.
//!
//! The rules, which the tests below hold it to:
//!
//! - **Short-lived.** A value is served for at most its time to live (`ttl`), counted from
//!   the moment the call that fetched it *began*, so nothing shown is older than that. After
//!   it, the next lookup fetches again.
//! - **One call per miss** (single flight). While a key is being fetched, every other
//!   lookup of it waits for that one call and shares its answer, success or error, instead
//!   of calling too: an expiry under load costs one upstream call, not a stampede. If the
//!   caller that fetches goes away (its request cancelled), one of the waiters fetches.
//! - **Errors are not kept.** A failed fetch is handed to the lookups that waited for it and
//!   then forgotten; the next lookup calls again.
//! - **Bounded.** At most `capacity` keys; a new key first pushes out expired values, then
//!   the value that expires soonest. When every slot is a fetch in progress, the lookup
//!   fetches on its own and keeps nothing.
//!
//! Only data that is the same for every shopper belongs here: never a cart, a session or
//! anything else a token unlocks. Keys must not carry one either.
//!
//! Lookups are counted in `bazaar_gateway_cache_lookups_total{cache, result}`, `result`
//! being `hit` (a fresh value), `shared` (waited for a fetch in progress) or `miss`
//! (fetched); `cache` is the cache's fixed name.
//!
//! Time is Tokio's clock, which tests pause and move by hand.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// A cache of `V` by `K`, whose fetches fail with `E`. Values are cloned out on every hit,
/// so `V` is usually an `Arc`.
#[derive(Debug)]
pub struct Cache<K, V, E> {
    name: &'static str,
    ttl: Duration,
    capacity: usize,
    state: Mutex<State<K, V, E>>,
}

#[derive(Debug)]
struct State<K, V, E> {
    entries: HashMap<K, Entry<V, E>>,
    /// Numbers fetches, so a fetch cleans up only after itself.
    flights: u64,
}

#[derive(Debug)]
enum Entry<V, E> {
    /// A value, served until `until`.
    Fresh { value: V, until: Instant },
    /// A fetch in progress; its answer will be sent on the channel.
    Fetching {
        flight: u64,
        answer: watch::Receiver<Option<Result<V, E>>>,
    },
}

/// What a lookup found under the lock.
enum Found<V, E> {
    /// A value to serve.
    Fresh(V),
    /// A fetch in progress to wait for.
    Wait(watch::Receiver<Option<Result<V, E>>>),
    /// This lookup fetches: the fetch's number, when it began, where its answer goes.
    Fetch {
        flight: u64,
        started: Instant,
        send: watch::Sender<Option<Result<V, E>>>,
    },
    /// No room: fetch, and keep nothing.
    Bypass,
}

impl<K, V, E> Cache<K, V, E>
where
    K: Eq + Hash + Clone,
    V: Clone,
    E: Clone,
{
    /// A cache named `name` (its metrics label) keeping at most `capacity` keys for `ttl`.
    /// A `ttl` of zero keeps nothing, but concurrent lookups of a key still share one call.
    pub fn new(name: &'static str, ttl: Duration, capacity: usize) -> Self {
        Self {
            name,
            ttl,
            capacity: capacity.max(1),
            state: Mutex::new(State {
                entries: HashMap::new(),
                flights: 0,
            }),
        }
    }

    /// How long a value is served.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value of `key`: fresh from the cache, or shared with a fetch in progress, or
    /// fetched now with `fetch` (and kept if it succeeds).
    pub async fn get_or_fetch<F, Fut>(&self, key: &K, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        loop {
            match self.look_up(key) {
                Found::Fresh(value) => {
                    self.count("hit");
                    return Ok(value);
                }
                Found::Wait(mut answer) => {
                    // The fetching lookup sends its answer, or drops the sender when it is
                    // cancelled: then look again (and perhaps fetch).
                    if let Ok(answer) = answer.wait_for(Option::is_some).await
                        && let Some(result) = answer.clone()
                    {
                        self.count("shared");
                        return result;
                    }
                }
                Found::Fetch {
                    flight,
                    started,
                    send,
                } => {
                    self.count("miss");
                    // Forgets the fetch if this lookup is dropped before it ends.
                    let landing = Landing {
                        cache: self,
                        key,
                        flight,
                    };
                    let result = fetch().await;
                    landing.land(&result, started);
                    // Nobody waiting is no error.
                    let _ = send.send(Some(result.clone()));
                    return result;
                }
                Found::Bypass => {
                    self.count("miss");
                    return fetch().await;
                }
            }
        }
    }

    /// Under the lock: what there is for `key`; when there is nothing, a fetch registered
    /// for it (after making room).
    fn look_up(&self, key: &K) -> Found<V, E> {
        let now = Instant::now();
        let mut state = self.lock();
        match state.entries.get(key) {
            Some(Entry::Fresh { value, until }) if *until > now => {
                return Found::Fresh(value.clone());
            }
            Some(Entry::Fetching { answer, .. }) if answer.has_changed().is_ok() => {
                return Found::Wait(answer.clone());
            }
            // Expired, or a fetch whose sender is gone.
            Some(_) => {
                state.entries.remove(key);
            }
            None => {}
        }
        if state.entries.len() >= self.capacity {
            state
                .entries
                .retain(|_, entry| !matches!(entry, Entry::Fresh { until, .. } if *until <= now));
        }
        if state.entries.len() >= self.capacity {
            let soonest = state
                .entries
                .iter()
                .filter_map(|(key, entry)| match entry {
                    Entry::Fresh { until, .. } => Some((*until, key)),
                    Entry::Fetching { .. } => None,
                })
                .min_by_key(|(until, _)| *until)
                .map(|(_, key)| key.clone());
            match soonest {
                Some(key) => {
                    state.entries.remove(&key);
                }
                None => return Found::Bypass,
            }
        }
        state.flights += 1;
        let flight = state.flights;
        let (send, answer) = watch::channel(None);
        state
            .entries
            .insert(key.clone(), Entry::Fetching { flight, answer });
        Found::Fetch {
            flight,
            started: now,
            send,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K, V, E>> {
        lock(&self.state)
    }

    fn count(&self, result: &'static str) {
        metrics::counter!(
            "bazaar_gateway_cache_lookups_total",
            "cache" => self.name,
            "result" => result
        )
        .increment(1);
    }
}

/// The lock is never held across an await or a call out, and nothing under it panics
/// halfway through an update, so a poisoned state is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The end of a fetch in the cache: its value kept, or the fetch forgotten (on error, or
/// when the lookup that led it is dropped before it ends).
struct Landing<'a, K: Eq + Hash, V, E> {
    cache: &'a Cache<K, V, E>,
    key: &'a K,
    flight: u64,
}

impl<K: Eq + Hash + Clone, V: Clone, E> Landing<'_, K, V, E> {
    /// Keeps a value until `started` plus the time to live; forgets an error.
    fn land(self, result: &Result<V, E>, started: Instant) {
        if let Ok(value) = result
            && !self.cache.ttl.is_zero()
        {
            let mut state = lock(&self.cache.state);
            if self.is_ours(&state) {
                state.entries.insert(
                    self.key.clone(),
                    Entry::Fresh {
                        value: value.clone(),
                        until: started + self.cache.ttl,
                    },
                );
            }
        }
        // Dropping forgets the fetch if it is still registered (an error, or no ttl).
    }
}

impl<K: Eq + Hash, V, E> Landing<'_, K, V, E> {
    fn is_ours(&self, state: &State<K, V, E>) -> bool {
        matches!(
            state.entries.get(self.key),
            Some(Entry::Fetching { flight, .. }) if *flight == self.flight
        )
    }
}

impl<K: Eq + Hash, V, E> Drop for Landing<'_, K, V, E> {
    fn drop(&mut self) {
        let mut state = lock(&self.cache.state);
        if self.is_ours(&state) {
            state.entries.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const TTL: Duration = Duration::from_secs(2);

    /// An upstream that counts its calls and answers `n` (its call number) after `delay`,
    /// or fails when `fail` says so.
    #[derive(Clone, Default)]
    struct Upstream {
        calls: Arc<AtomicUsize>,
    }

    impl Upstream {
        async fn answer(&self, delay: Duration, fail: bool) -> Result<usize, String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            if fail {
                Err(format!("call {n} failed"))
            } else {
                Ok(n)
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    fn cache(capacity: usize) -> Cache<&'static str, usize, String> {
        Cache::new("test", TTL, capacity)
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_is_served_until_its_time_to_live_ends() {
        let cache = cache(8);
        let upstream = Upstream::default();
        let get = || cache.get_or_fetch(&"k", || upstream.answer(Duration::ZERO, false));
        assert_eq!(get().await, Ok(1));
        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        assert_eq!(get().await, Ok(1), "still fresh");
        assert_eq!(upstream.calls(), 1);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(get().await, Ok(2), "expired: fetched again");
        assert_eq!(upstream.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_to_live_counts_from_when_the_fetch_began() {
        let cache = cache(8);
        let upstream = Upstream::default();
        let slow = Duration::from_millis(1500);
        assert_eq!(
            cache
                .get_or_fetch(&"k", || upstream.answer(slow, false))
                .await,
            Ok(1)
        );
        // 1.5 s in: fresh for 0.5 s more, not for 2.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(
            cache
                .get_or_fetch(&"k", || upstream.answer(Duration::ZERO, false))
                .await,
            Ok(2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_call() {
        let cache = cache(8);
        let upstream = Upstream::default();
        let lookups = (0..50).map(|_| {
            cache.get_or_fetch(&"k", || upstream.answer(Duration::from_millis(100), false))
        });
        let answers = futures_util::future::join_all(lookups).await;
        assert_eq!(upstream.calls(), 1, "one upstream call for 50 misses");
        assert!(answers.iter().all(|a| *a == Ok(1)), "{answers:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_shared_with_waiters_but_not_kept() {
        let cache = cache(8);
        let upstream = Upstream::default();
        let lookups = (0..10).map(|_| {
            cache.get_or_fetch(&"k", || upstream.answer(Duration::from_millis(100), true))
        });
        let answers = futures_util::future::join_all(lookups).await;
        assert_eq!(upstream.calls(), 1, "the waiters share the failed call");
        assert!(answers.iter().all(Result::is_err), "{answers:?}");
        // The next lookup, at once, calls again, and keeps what succeeds.
        let again = cache
            .get_or_fetch(&"k", || upstream.answer(Duration::ZERO, false))
            .await;
        assert_eq!(again, Ok(2));
        assert_eq!(
            cache
                .get_or_fetch(&"k", || upstream.answer(Duration::ZERO, false))
                .await,
            Ok(2)
        );
        assert_eq!(upstream.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_fetching_lookup_is_cancelled_a_waiter_fetches() {
        let cache = Arc::new(cache(8));
        let upstream = Upstream::default();
        let leader = {
            let (cache, upstream) = (cache.clone(), upstream.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(&"k", || upstream.answer(Duration::from_secs(60), false))
                    .await
            })
        };
        tokio::time::advance(Duration::from_millis(10)).await;
        let waiter = {
            let (cache, upstream) = (cache.clone(), upstream.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(&"k", || upstream.answer(Duration::from_millis(10), false))
                    .await
            })
        };
        tokio::time::advance(Duration::from_millis(10)).await;
        assert_eq!(upstream.calls(), 1, "the waiter waits");
        leader.abort();
        assert_eq!(waiter.await.expect("the waiter ends"), Ok(2));
        assert_eq!(upstream.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn it_keeps_at_most_its_capacity() {
        let cache = cache(2);
        let upstream = Upstream::default();
        for key in ["a", "b"] {
            cache
                .get_or_fetch(&key, || upstream.answer(Duration::ZERO, false))
                .await
                .expect("fetched");
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        // A third key pushes out the one that expires soonest, "a".
        cache
            .get_or_fetch(&"c", || upstream.answer(Duration::ZERO, false))
            .await
            .expect("fetched");
        assert_eq!(lock(&cache.state).entries.len(), 2);
        let b = cache
            .get_or_fetch(&"b", || upstream.answer(Duration::ZERO, false))
            .await;
        assert_eq!(b, Ok(2), "b is still kept");
        let a = cache
            .get_or_fetch(&"a", || upstream.answer(Duration::ZERO, false))
            .await;
        assert_eq!(a, Ok(4), "a was pushed out and is fetched again");
        assert_eq!(lock(&cache.state).entries.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_time_to_live_nothing_is_kept() {
        let cache: Cache<&str, usize, String> = Cache::new("test", Duration::ZERO, 8);
        let upstream = Upstream::default();
        for expected in 1..=3 {
            let got = cache
                .get_or_fetch(&"k", || upstream.answer(Duration::ZERO, false))
                .await;
            assert_eq!(got, Ok(expected));
        }
        assert!(lock(&cache.state).entries.is_empty());
    }
}
