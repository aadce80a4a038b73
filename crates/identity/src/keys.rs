//! The keys that sign access tokens.
//!
//! On its first start identity makes an Ed25519 key from the operating system's randomness
//! and stores it; later starts (and other replicas on the same database) load it, so tokens
//! stay valid across restarts. The newest key signs; every stored key is listed by
//! ListSigningKeys so verifiers know it. Rotation is adding a newer key: it is listed at once
//! and, to honour the contract's promise that verifiers learn a key before it signs, starts
//! signing only once it is older than the verifiers' cache period; older keys stay listed
//! until the tokens they signed have expired, then can be deleted.

use ed25519_dalek::SigningKey;

use crate::store::{IdentityStore, KeyRecord};

/// The keys in force: the one that signs, and every one that verifies.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The key that signs new tokens.
    pub signing_key_id: String,
    /// Its private half.
    pub signing_key: SigningKey,
    /// Every stored key, newest first.
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
    /// A stored seed is not 32 bytes.
    #[error("stored signing key {0} is corrupt")]
    Corrupt(String),
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
    Ok(bytes)
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the stored keys, making the first one if there is none.
pub async fn load_or_create(store: &IdentityStore, now_ms: i64) -> Result<Keys, KeyError> {
    let mut all = store.keys().await?;
    if all.is_empty() {
        let seed = random_bytes::<32>()?;
        let key = SigningKey::from_bytes(&seed);
        let record = KeyRecord {
            key_id: format!("k-{}", hex(&random_bytes::<8>()?)),
            private_seed: seed.to_vec(),
            public_key: key.verifying_key().to_bytes().to_vec(),
            create_ms: now_ms,
        };
        store.add_key(&record).await?;
        tracing::info!(key_id = %record.key_id, "made the first signing key");
        // Another replica may have made one at the same moment: read back what is stored.
        all = store.keys().await?;
    }
    let newest = all
        .first()
        .ok_or_else(|| KeyError::Corrupt("(none stored)".to_owned()))?;
    let seed: [u8; 32] = newest
        .private_seed
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Corrupt(newest.key_id.clone()))?;
    Ok(Keys {
        signing_key_id: newest.key_id.clone(),
        signing_key: SigningKey::from_bytes(&seed),
        all,
    })
}
