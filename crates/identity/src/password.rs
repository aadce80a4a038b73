//! Password hashing: Argon2id with a random salt per password, in the PHC string format.
//!
//! Hashing is deliberately slow and memory-hard (the default parameters take 19 MiB per
//! hash), so it runs on the blocking pool, never on the runtime's worker threads, and
//! never more than a fixed number at once: a [`Hasher`] holds that many permits. Hashing
//! is CPU-bound, so more hashes at once than cores add memory and latency, never
//! throughput; the default is the number of cores (at least 2, at most
//! [`MAX_DEFAULT_PERMITS`]), which bounds hashing's memory at permits × 19 MiB however many
//! sign-ups and log-ins arrive together. The others queue, within their deadline: a call
//! that cannot get a permit in time to hash before its deadline is refused with
//! [`HashError::Busy`] (UNAVAILABLE: retry, or try another replica) rather than left to
//! time out. A permit is held by the hashing itself, so a caller that gives up does not
//! free it before its hash is done.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::domain::Password;
use crate::keys::random_bytes;

/// The most permits the default gives, whatever the core count.
pub const MAX_DEFAULT_PERMITS: usize = 16;
/// How long a wait for a permit may last for a call without a deadline.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// Time kept back from a call's deadline for the hash itself: a permit obtained later
/// than this before the deadline would only hash for an answer nobody waits for.
pub const HASH_TIME: Duration = Duration::from_millis(250);

/// Why hashing failed (never because of the password itself).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every permit was taken until too close to the call's deadline.
    #[error("too many passwords are being hashed; retry shortly")]
    Busy,
    /// The hashing itself failed.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Hashes and verifies passwords, at most a fixed number at once. Clones share the permits.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// At most `permits` hashes at once; 0 means the default ([`Hasher::default_permits`]).
    pub fn new(permits: usize) -> Self {
        let permits = if permits == 0 {
            Self::default_permits()
        } else {
            permits
        };
        Self {
            permits: Arc::new(Semaphore::new(permits)),
        }
    }

    /// The number of cores, at least 2, at most [`MAX_DEFAULT_PERMITS`].
    pub fn default_permits() -> usize {
        std::thread::available_parallelism()
            .map_or(2, std::num::NonZero::get)
            .clamp(2, MAX_DEFAULT_PERMITS)
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// A permit, waiting at most until [`HASH_TIME`] before the call's deadline (or
    /// [`MAX_QUEUE_WAIT`] outside a call).
    async fn permit(&self) -> Result<OwnedSemaphorePermit, HashError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let until = chassis::deadline::current().map_or_else(
            || Instant::now() + MAX_QUEUE_WAIT,
            |deadline| deadline.checked_sub(HASH_TIME).unwrap_or(deadline),
        );
        match tokio::time::timeout_at(until, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it as busy if it ever is.
            Ok(Err(_)) | Err(_) => {
                tracing::warn!("password hashing saturated: call refused");
                Err(HashError::Busy)
            }
        }
    }

    /// Hashes a password with Argon2id and a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let salt = random_bytes::<16>().map_err(|e| HashError::Failed(e.to_string()))?;
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let salt =
                SaltString::encode_b64(&salt).map_err(|e| HashError::Failed(e.to_string()))?;
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }

    /// Whether `password` matches the stored `hash`. A malformed hash matches nothing.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_permits_come_back() {
        let hasher = Hasher::new(1);
        let password = Password::new_for(None, "correct horse battery").unwrap();
        let hash = hasher.hash(password).await.unwrap();
        assert!(
            hasher
                .verify("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong".into(), hash).await.unwrap());
        assert!(
            !hasher
                .verify("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
        assert_eq!(hasher.available(), 1);
    }

    #[tokio::test]
    async fn a_call_that_cannot_get_a_permit_before_its_deadline_is_refused() {
        let hasher = Hasher::new(1);
        let held = hasher.permits.clone().try_acquire_owned().unwrap();
        let deadline = Instant::now() + HASH_TIME + Duration::from_millis(50);
        let refused = chassis::deadline::scope(deadline, hasher.verify("x".into(), "y".into()));
        assert!(matches!(refused.await, Err(HashError::Busy)));
        // Once the permit is back, the next call hashes.
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(5);
        let served = chassis::deadline::scope(deadline, hasher.verify("x".into(), "y".into()));
        assert!(matches!(served.await, Ok(false)));
    }

    #[test]
    fn the_default_is_the_core_count_within_bounds() {
        let permits = Hasher::default_permits();
        assert!((2..=MAX_DEFAULT_PERMITS).contains(&permits));
        assert_eq!(Hasher::new(0).available(), permits);
        assert_eq!(Hasher::new(3).available(), 3);
    }
}
