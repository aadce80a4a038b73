//! Verifying tokens offline, with cached keys.
//!
//! A [`Verifier`] holds the public keys a service trusts; its clones share them. While the key
//! a token names is cached, verifying it needs nobody, so tokens keep verifying while
//! identity is down. A token signed by a key it does not know makes it fetch identity's keys
//! (at most every 30 s after a fetch that worked, so that tokens naming made-up keys cannot
//! turn into a stream of calls to identity; every second while fetches fail) and try once
//! more. How keys are fetched is [`super::keys`]'s business: the verifier only holds the
//! function that does it.
//!
//! A token verified once is remembered, by its exact text, until it expires: the same
//! session's token comes back on every call of a shopper, at every service it reaches, and
//! checking its Ed25519 signature again costs each call tens of microseconds (see the
//! chassis's `layers` bench). Only tokens that verified are remembered, with their expiry
//! and key, and a remembered token is answered only while it has not expired and its key is
//! still trusted. At most [`REMEMBERED`] are kept; when full, the expired go first, and if
//! none has, all.
//!
//! A key it does not know while the last fetch failed (a service that started while
//! identity was down has no keys at all) proves nothing against the token: that is
//! [`TokenError::KeysUnavailable`], which callers are answered as `UNAVAILABLE`, not
//! `UNAUTHENTICATED` — a shopper's valid session must not look expired because identity
//! restarts. Once a fetch works, an unknown key is `UNAUTHENTICATED` again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use tonic::Status;

use super::{Caller, MAX_SKEW_SECS, TokenError, now_secs, verify};
use crate::shutdown::{Shutdown, Slept};

/// The least time between two key refreshes caused by unknown key ids.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// The same, while the last refresh failed.
const MIN_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How many verified tokens a verifier remembers (a token is a few hundred bytes).
pub(super) const REMEMBERED: usize = 1024;

/// A token that verified: who it names, until when, under which key.
struct Remembered {
    caller: Caller,
    expires: i64,
    key_id: String,
}

/// Fetches the current keys into the verifier it is given; answers how many it added.
pub(super) type FetchKeys = Box<
    dyn Fn(Verifier) -> Pin<Box<dyn Future<Output = Result<usize, Status>> + Send>> + Send + Sync,
>;

/// The public keys a service trusts, with where to get more.
struct KeyRing {
    keys: RwLock<HashMap<String, VerifyingKey>>,
    last_refresh: Mutex<Option<std::time::Instant>>,
    /// Whether the last fetch failed (or none was made yet).
    unreachable: std::sync::atomic::AtomicBool,
    /// Held while a token with an unknown key has the keys fetched: the tokens that meet
    /// the same unknown key meanwhile wait for that fetch rather than fail.
    fetching: tokio::sync::Mutex<()>,
    fetch: Option<FetchKeys>,
    /// Tokens that verified, by their exact text.
    verified: RwLock<HashMap<Box<str>, Remembered>>,
    /// How many it keeps: [`REMEMBERED`].
    capacity: usize,
}

/// Verifies tokens with cached public keys; clones share the cache.
#[derive(Clone)]
pub struct Verifier {
    ring: Arc<KeyRing>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.ring.keys.read().map_or(0, |k| k.len());
        f.debug_struct("Verifier").field("keys", &count).finish()
    }
}

impl Verifier {
    /// A verifier with a fixed set of keys (identity itself, and tests).
    pub fn with_keys(keys: impl IntoIterator<Item = (String, VerifyingKey)>) -> Self {
        let verifier = Self::new(None);
        for (kid, key) in keys {
            verifier.add_key(kid, key);
        }
        verifier
    }

    /// A verifier that gets more keys with `fetch`.
    pub(super) fn fetching(fetch: FetchKeys) -> Self {
        Self::new(Some(fetch))
    }

    fn new(fetch: Option<FetchKeys>) -> Self {
        Self {
            ring: Arc::new(KeyRing {
                keys: RwLock::new(HashMap::new()),
                last_refresh: Mutex::new(None),
                unreachable: std::sync::atomic::AtomicBool::new(fetch.is_some()),
                fetching: tokio::sync::Mutex::new(()),
                fetch,
                verified: RwLock::new(HashMap::new()),
                capacity: REMEMBERED,
            }),
        }
    }

    /// Trusts one more key.
    pub fn add_key(&self, key_id: String, key: VerifyingKey) {
        if let Ok(mut keys) = self.ring.keys.write() {
            keys.insert(key_id, key);
        }
    }

    /// Verifies a token and returns its caller. An unknown `kid` triggers a refresh from
    /// identity (rate-limited), then one more try. Tokens that meet an unknown key while
    /// such a refresh runs wait for it and try again after it.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        match self.verify_cached(token) {
            Err(TokenError::UnknownKey) if self.ring.fetch.is_some() => {
                let _turn = self.ring.fetching.lock().await;
                if let verified @ Ok(_) = self.verify_cached(token) {
                    // Fetched by the refresh this one waited for.
                    return verified;
                }
                if self.refresh_allowed()
                    && let Err(error) = self.refresh().await
                {
                    tracing::warn!(%error, "cannot refresh signing keys from identity");
                }
                match self.verify_cached(token) {
                    Err(TokenError::UnknownKey) if self.unreachable() => {
                        Err(TokenError::KeysUnavailable)
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    fn verify_cached(&self, token: &str) -> Result<Caller, TokenError> {
        let now = now_secs();
        let keys = self.ring.keys.read().map_err(|_| TokenError::UnknownKey)?;
        if let Some(caller) = self.recall(token, now, &keys) {
            return Ok(caller);
        }
        let claims = verify(token, &keys, now)?;
        drop(keys);
        let expires = claims.exp;
        let caller = Caller::from(claims);
        if let Ok(key_id) = super::key_id(token) {
            self.remember(token, &caller, expires, key_id, now);
        }
        Ok(caller)
    }

    /// The caller of `token` if it verified before, has not expired at `now` and its key
    /// is still among `keys`.
    fn recall(
        &self,
        token: &str,
        now: i64,
        keys: &HashMap<String, VerifyingKey>,
    ) -> Option<Caller> {
        let verified = self.ring.verified.read().ok()?;
        let remembered = verified.get(token)?;
        (now <= remembered.expires.saturating_add(MAX_SKEW_SECS)
            && keys.contains_key(&remembered.key_id))
        .then(|| remembered.caller.clone())
    }

    /// Remembers that `token` verified, naming `caller` until `expires` under `key_id`.
    fn remember(&self, token: &str, caller: &Caller, expires: i64, key_id: String, now: i64) {
        let Ok(mut verified) = self.ring.verified.write() else {
            return;
        };
        if verified.len() >= self.ring.capacity {
            verified.retain(|_, r| now <= r.expires.saturating_add(MAX_SKEW_SECS));
            if verified.len() >= self.ring.capacity {
                verified.clear();
            }
        }
        verified.insert(
            token.into(),
            Remembered {
                caller: caller.clone(),
                expires,
                key_id,
            },
        );
    }

    /// How many verified tokens it remembers now.
    pub fn remembered(&self) -> usize {
        self.ring.verified.read().map_or(0, |v| v.len())
    }

    fn refresh_allowed(&self) -> bool {
        let Ok(mut last) = self.ring.last_refresh.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        let interval = if self.unreachable() {
            MIN_RETRY_INTERVAL
        } else {
            MIN_REFRESH_INTERVAL
        };
        match *last {
            Some(at) if now.duration_since(at) < interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// Fetches every current key from identity and adds them to the cache. Keys already
    /// cached stay: a token signed by a key identity no longer lists expires soon anyway.
    /// A verifier with fixed keys fetches nothing.
    pub async fn refresh(&self) -> Result<usize, Status> {
        match &self.ring.fetch {
            Some(fetch) => {
                let fetched = fetch(self.clone()).await;
                self.ring
                    .unreachable
                    .store(fetched.is_err(), std::sync::atomic::Ordering::Relaxed);
                fetched
            }
            None => Ok(0),
        }
    }

    /// Whether identity could not be asked for keys the last time (or not yet).
    fn unreachable(&self) -> bool {
        self.ring
            .unreachable
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Refreshes the keys now and then every `every`, until `shutdown`; failures are logged
    /// and the cached keys keep working.
    pub fn spawn_refresher(
        &self,
        every: Duration,
        shutdown: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        let verifier = self.clone();
        tokio::spawn(async move {
            loop {
                match verifier.refresh().await {
                    Ok(count) => tracing::debug!(count, "signing keys refreshed"),
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), message = status.message(),
                            "cannot refresh signing keys; keeping the cached ones");
                    }
                }
                if shutdown.sleep(every).await == Slept::Stopped {
                    return;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::auth::testing::TestIssuer;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokens_that_meet_a_key_being_fetched_wait_for_it() {
        // A service that started before identity had keys: the first tokens it sees, all at
        // once, name a key it must fetch, and fetching takes a while.
        let issuer = Arc::new(TestIssuer::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let verifier = {
            let (issuer, fetches) = (issuer.clone(), fetches.clone());
            Verifier::fetching(Box::new(move |verifier| {
                let (issuer, fetches) = (issuer.clone(), fetches.clone());
                Box::pin(async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    verifier.add_key(issuer.key_id.clone(), issuer.key.verifying_key());
                    Ok(1)
                })
            }))
        };
        let token = issuer.token(&issuer.claims("u-1"));
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (verifier, token) = (verifier.clone(), token.clone());
                tokio::spawn(async move { verifier.verify(&token).await })
            })
            .collect();
        for check in checks {
            let caller = check.await.unwrap().expect("every token verifies");
            assert_eq!(caller.user_id, "u-1");
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "one fetch served them all"
        );
    }

    #[tokio::test]
    async fn a_token_is_remembered_until_it_expires_and_only_as_written() {
        let issuer = TestIssuer::new();
        let verifier = issuer.verifier();
        let mut claims = issuer.claims("u-1");
        // Valid for one more second, clock skew included.
        claims.exp = now_secs() - MAX_SKEW_SECS + 1;
        let token = issuer.token(&claims);
        let first = verifier.verify(&token).await.expect("a valid token");
        assert_eq!(verifier.remembered(), 1);
        assert_eq!(verifier.verify(&token).await, Ok(first));
        assert_eq!(verifier.remembered(), 1, "remembered once");

        // The same signature over other claims is not the remembered token.
        let mut forged = issuer.claims("u-2");
        forged.exp = claims.exp;
        let other = issuer.token(&forged);
        let (payload, signature) = (
            other.split('.').nth(1).unwrap(),
            token.rsplit('.').next().unwrap(),
        );
        let spliced = format!("{}.{payload}.{signature}", token.split('.').next().unwrap());
        assert_eq!(
            verifier.verify(&spliced).await,
            Err(TokenError::BadSignature)
        );

        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::Expired),
            "a remembered token expires as it would have"
        );
    }

    #[tokio::test]
    async fn it_remembers_a_bounded_number_of_tokens() {
        let issuer = TestIssuer::new();
        let mut verifier = issuer.verifier();
        Arc::get_mut(&mut verifier.ring).unwrap().capacity = 16;
        for n in 0..40 {
            let token = issuer.token(&issuer.claims(&format!("u-{n}")));
            verifier.verify(&token).await.expect("a valid token");
            assert!(verifier.remembered() <= 16);
        }
        assert!(verifier.remembered() >= 8, "it still remembers the latest");
    }
}
