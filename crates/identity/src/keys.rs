//! The keys that sign access tokens.
//!
//! On its first start identity makes an Ed25519 key (a 32-byte seed from the operating
//! system's randomness, `getrandom`) with a random key id and stores it, its seed sealed
//! under the key-encryption key ([`crate::seal`]); later starts, and other replicas on the
//! same database, load and open it, so tokens stay valid across restarts. Keys of an older
//! store, kept in clear, are sealed in place at start. Every
//! stored key is listed by ListSigningKeys (read from the store on each call, so all
//! replicas list the same keys) and trusted by identity's own verifier; one key signs.
//!
//! Which key signs: the newest key that has been stored for at least [`KEY_CACHE_TTL`], the
//! time verifiers may cache the list, so every verifier has seen a key before the first
//! token signed with it reaches them. When no key is that old (a fresh database) the oldest
//! key signs: no token exists yet, so there is no verifier to surprise. Two replicas that
//! start together on an empty database may each store a key; both then pick the same one
//! by this rule.
//!
//! Rotation is not automated; it would go: (1) store a new key (a row in `signing_keys`,
//! made like [`new_key`]); every replica lists it from then on. (2) Restart the replicas one
//! at a time, so each trusts the new key (they keep signing with the old one, since the
//! new one is younger than the cache period). (3) Once the new key is older than
//! [`KEY_CACHE_TTL`], restart them one at a time again: now each signs with the new key.
//! (4) When the last token signed by the old key has expired (15 minutes plus a minute of
//! clock skew later), delete the old row; it disappears from ListSigningKeys. Automating it
//! means reloading the keys periodically instead of at start.

use std::time::Duration;

use bazaar_contract::values::RandomnessError;
use bazaar_contract::values::ids::{Encoding, SIGNING_KEY};
use ed25519_dalek::SigningKey;

use crate::seal::{KeyEncryptionKey, OpenError};
use crate::store::{IdentityStore, KeyRecord};

/// How long verifiers may cache the list of keys (ListSigningKeys' `cache_ttl`), and so how
/// long a new key is listed before it signs.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10 * 60);

/// The keys in force: the one that signs, and every one that verifies.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The key that signs new tokens.
    pub signing_key_id: String,
    /// Its private half.
    pub signing_key: SigningKey,
    /// Every stored key, newest first: the keys identity trusts.
    pub all: Vec<KeyRecord>,
}

/// Why the keys cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error("signing keys store failed")]
    Store(#[from] sqlx::Error),
    /// The operating system gave no randomness.
    #[error("no randomness for a new key")]
    Random,
    /// A stored key is malformed, or its seed does not make its public key.
    #[error("stored signing key {0} is corrupt")]
    Corrupt(String),
    /// A sealed seed does not open: the key-encryption key is not the one it was sealed
    /// with (or the row was altered).
    #[error(
        "this is not the key-encryption key the signing keys were sealed with; start \
         identity with that key (making new signing keys instead would invalidate every token)"
    )]
    WrongKek(#[from] OpenError),
    /// The key-encryption key file cannot be written.
    #[error("cannot write the key-encryption key file")]
    File(#[source] std::io::Error),
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
    Ok(bytes)
}

impl From<RandomnessError> for KeyError {
    fn from(_: RandomnessError) -> Self {
        KeyError::Random
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    Encoding::Hex.encode(bytes)
}

/// A new key with a random id, created at `now_ms`, its seed sealed under `kek`.
pub fn new_key(kek: &KeyEncryptionKey, now_ms: i64) -> Result<KeyRecord, KeyError> {
    let seed = random_bytes::<32>()?;
    let key = SigningKey::from_bytes(&seed);
    let key_id = SIGNING_KEY.generate()?;
    Ok(KeyRecord {
        private_seed: kek.seal(&key_id, &seed)?,
        sealed: true,
        key_id,
        public_key: key.verifying_key().to_bytes().to_vec(),
        create_ms: now_ms,
    })
}

/// The private half of a stored key, checked against its public half: opened with `kek`
/// when sealed, as stored otherwise.
fn private_key(record: &KeyRecord, kek: &KeyEncryptionKey) -> Result<SigningKey, KeyError> {
    let seed: [u8; 32] = if record.sealed {
        kek.open(&record.key_id, &record.private_seed)?
    } else {
        record
            .private_seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Corrupt(record.key_id.clone()))?
    };
    let key = SigningKey::from_bytes(&seed);
    if key.verifying_key().to_bytes().as_slice() != record.public_key.as_slice() {
        return Err(KeyError::Corrupt(record.key_id.clone()));
    }
    Ok(key)
}

/// Seals, in place, the keys an older store kept in clear. Every key is opened first, so
/// that a wrong `kek` fails before it seals anything.
async fn seal_keys_in_clear(
    store: &IdentityStore,
    kek: &KeyEncryptionKey,
    all: &[KeyRecord],
) -> Result<(), KeyError> {
    let mut opened = Vec::with_capacity(all.len());
    for record in all {
        opened.push((record, private_key(record, kek)?));
    }
    for (record, key) in opened.into_iter().filter(|(record, _)| !record.sealed) {
        let sealed = kek.seal(&record.key_id, &key.to_bytes())?;
        // Another replica may be sealing it at the same moment: only one update applies.
        if store.seal_key(&record.key_id, &sealed).await? {
            tracing::info!(key_id = %record.key_id, "sealed a signing key stored in clear");
        }
    }
    Ok(())
}

/// Loads the stored keys (sealing any kept in clear), making the first one if there is
/// none, opens them with `kek`, and picks the one that signs (see the module comment).
pub async fn load_or_create(
    store: &IdentityStore,
    kek: &KeyEncryptionKey,
    now_ms: i64,
) -> Result<Keys, KeyError> {
    let mut all = store.keys().await?;
    if all.iter().any(|key| !key.sealed) {
        seal_keys_in_clear(store, kek, &all).await?;
        all = store.keys().await?;
    }
    if all.is_empty() {
        let record = new_key(kek, now_ms)?;
        store.add_key(&record).await?;
        tracing::info!(key_id = %record.key_id, "made the first signing key");
        // Another replica may have made one at the same moment: read back what is stored.
        all = store.keys().await?;
    }
    // Every key must open, not only the one that signs: a key sealed under another KEK
    // (a replica started with the wrong one) is caught here, at start.
    for record in &all {
        private_key(record, kek)?;
    }
    let signer =
        signer(&all, now_ms).ok_or_else(|| KeyError::Corrupt("(none stored)".to_owned()))?;
    let keys = Keys {
        signing_key_id: signer.key_id.clone(),
        signing_key: private_key(signer, kek)?,
        all,
    };
    tracing::info!(key_id = %keys.signing_key_id, known = keys.all.len(), "signing keys loaded");
    Ok(keys)
}

/// The key that signs among `keys` (newest first): the newest one at least
/// [`KEY_CACHE_TTL`] old, else the oldest.
fn signer(keys: &[KeyRecord], now_ms: i64) -> Option<&KeyRecord> {
    let announced_before = now_ms - KEY_CACHE_TTL.as_millis() as i64;
    keys.iter()
        .find(|key| key.create_ms <= announced_before)
        .or_else(|| keys.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, create_ms: i64) -> KeyRecord {
        KeyRecord {
            key_id: id.to_owned(),
            private_seed: vec![0; 32],
            sealed: false,
            public_key: vec![0; 32],
            create_ms,
        }
    }

    #[test]
    fn a_key_signs_only_once_verifiers_can_know_it() {
        let ttl = KEY_CACHE_TTL.as_millis() as i64;
        let now = 100 * ttl;
        // A fresh database: its only key signs at once.
        let only = [key("a", now)];
        assert_eq!(signer(&only, now).unwrap().key_id, "a");
        // A new key younger than the cache period waits; the older one keeps signing.
        let rotating = [key("new", now - ttl + 1), key("old", now - 5 * ttl)];
        assert_eq!(signer(&rotating, now).unwrap().key_id, "old");
        // Once announced long enough, the new key signs.
        assert_eq!(signer(&rotating, now + 1).unwrap().key_id, "new");
        // Two keys made together on an empty database, in the store's order (newest first,
        // then by id): every replica picks the same one.
        let racing = [key("a", now), key("b", now)];
        assert_eq!(signer(&racing, now).unwrap().key_id, "b");
        assert!(signer(&[], now).is_none());
    }

    #[test]
    fn new_keys_are_random_sealed_and_well_formed() {
        let kek =
            KeyEncryptionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let (a, b) = (new_key(&kek, 0).unwrap(), new_key(&kek, 0).unwrap());
        assert_ne!(a.key_id, b.key_id);
        assert_ne!(a.private_seed, b.private_seed);
        assert_eq!(a.public_key.len(), 32);
        assert!(
            a.key_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert!(a.sealed);
        let seed = kek.open(&a.key_id, &a.private_seed).unwrap();
        assert_eq!(
            SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes()
                .to_vec(),
            a.public_key
        );
        assert_eq!(private_key(&a, &kek).unwrap().to_bytes(), seed);
        // A seed that does not make the stored public key is refused.
        let swapped = KeyRecord {
            public_key: b.public_key.clone(),
            ..a.clone()
        };
        assert!(matches!(
            private_key(&swapped, &kek),
            Err(KeyError::Corrupt(_))
        ));
    }
}
