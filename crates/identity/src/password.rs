//! Password hashing: Argon2id with a random salt per password, in the PHC string format.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool and never stalls the
//! runtime's worker threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::domain::Password;
use crate::keys::random_bytes;

/// Why hashing failed (never because of the password itself).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password with Argon2id and a fresh salt.
pub async fn hash(password: Password) -> Result<String, HashError> {
    let salt = random_bytes::<16>().map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// Whether `password` matches the stored `hash`. A malformed hash matches nothing.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}
