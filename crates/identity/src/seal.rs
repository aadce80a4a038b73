//! Signing keys sealed at rest: the key-encryption key and what it does to a seed.
//!
//! A copy of identity's database (a backup, a stolen disk, a read-only SQL injection) must
//! not be enough to sign tokens. So the private half of every signing key is stored sealed
//! with AES-256-GCM under a key-encryption key (KEK) that never enters the database: a
//! fresh random 96-bit nonce per seal, and the key id as associated data, so a sealed seed
//! copied onto another key's row does not open. What is stored is `nonce ‖ ciphertext ‖
//! tag` (12 + 32 + 16 bytes).
//!
//! The KEK is 32 random bytes, written as base64, and comes from the environment
//! (`BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY`) or from a file (`--key-encryption-key-file`)
//! that only its owner may read or write: identity refuses to start with a file that others
//! can open. `bazaar up` makes that file in its data directory on its first start.
//!
//! A KEK that does not open the stored keys is a start error, never a reason to make new
//! keys: new keys would invalidate every token in circulation, and the old keys would
//! still be there, unusable.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::keys::{KeyError, random_bytes};

/// The length of a key-encryption key, in bytes.
pub const KEK_LEN: usize = 32;

/// The length of a sealed seed: nonce, ciphertext, tag.
pub const SEALED_LEN: usize = NONCE_LEN + 32 + 16;

/// The key that seals signing keys at rest. Its `Debug` never shows it.
pub struct KeyEncryptionKey(LessSafeKey);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

/// Why a key-encryption key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// Neither the variable nor the file was given.
    #[error(
        "no key-encryption key: set BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY to the base64 of 32 \
         random bytes, or point --key-encryption-key-file (BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY_FILE) \
         at a file holding it (`bazaar up` makes one in its data directory)"
    )]
    Missing,
    /// The text is not the base64 of 32 bytes.
    #[error("the key-encryption key{0} is not the base64 of 32 bytes")]
    Malformed(String),
    /// The file cannot be read.
    #[error("cannot read the key-encryption key file {path}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Others than its owner may read or write the file.
    #[error(
        "the key-encryption key file {path} has mode {mode:03o}: other users may open it; \
         make it readable by its owner only (chmod 600 {path})"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Why a sealed seed does not open.
#[derive(Debug, thiserror::Error)]
#[error("signing key {key_id} does not open with this key-encryption key")]
pub struct OpenError {
    /// The key that does not open.
    pub key_id: String,
}

impl KeyEncryptionKey {
    /// A KEK from its base64 text (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        Self::parse(text, "")
    }

    fn parse(text: &str, source: &str) -> Result<Self, KekError> {
        let bytes = STANDARD
            .decode(text.trim())
            .ok()
            .filter(|bytes| bytes.len() == KEK_LEN)
            .ok_or_else(|| KekError::Malformed(source.to_owned()))?;
        // `new` fails only for a key of the wrong length, which was just ruled out.
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| KekError::Malformed(source.to_owned()))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A KEK from the file at `path`, which only its owner may read or write.
    pub fn from_file(path: &Path) -> Result<Self, KekError> {
        let unreadable = |source| KekError::Unreadable {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(unreadable)?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(KekError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        Self::parse(&text, &format!(" in {}", path.display()))
    }

    /// Writes a new random KEK to `path`, a file that must not exist yet, readable and
    /// writable by its owner only (0600) from the moment it exists.
    pub fn create_file(path: &Path) -> Result<(), KeyError> {
        let text = STANDARD.encode(random_bytes::<KEK_LEN>()?);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(KeyError::File)?;
        writeln!(file, "{text}").map_err(KeyError::File)?;
        file.sync_all().map_err(KeyError::File)
    }

    /// `seed` sealed for the key `key_id`, with a fresh random nonce.
    pub fn seal(&self, key_id: &str, seed: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut sealed = nonce.to_vec();
        let mut text = seed.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(key_id.as_bytes()),
                &mut text,
            )
            // Sealing fails only for inputs far beyond 32 bytes.
            .map_err(|_| KeyError::Corrupt(key_id.to_owned()))?;
        sealed.extend_from_slice(&text);
        Ok(sealed)
    }

    /// The seed of key `key_id` from its sealed form; an error when this KEK did not seal
    /// it, or it was sealed for another key, or it was altered.
    pub fn open(&self, key_id: &str, sealed: &[u8]) -> Result<[u8; 32], OpenError> {
        let error = || OpenError {
            key_id: key_id.to_owned(),
        };
        if sealed.len() != SEALED_LEN {
            return Err(error());
        }
        let (nonce, text) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| error())?;
        let mut text = text.to_vec();
        let seed = self
            .0
            .open_in_place(nonce, Aad::from(key_id.as_bytes()), &mut text)
            .map_err(|_| error())?;
        seed.try_into().map_err(|_| error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> KeyEncryptionKey {
        KeyEncryptionKey::from_base64(&STANDARD.encode([7_u8; 32])).unwrap()
    }

    #[test]
    fn a_sealed_seed_opens_only_with_its_kek_and_its_key_id() {
        let seed = [42_u8; 32];
        let sealed = kek().seal("sk_a", &seed).unwrap();
        assert_eq!(sealed.len(), SEALED_LEN);
        assert!(!sealed.windows(32).any(|w| w == seed));
        assert_eq!(kek().open("sk_a", &sealed).unwrap(), seed);
        // Another nonce every time.
        assert_ne!(kek().seal("sk_a", &seed).unwrap(), sealed);
        // Another key's row, another KEK, a flipped bit, a cut: none opens.
        assert!(kek().open("sk_b", &sealed).is_err());
        let other = KeyEncryptionKey::from_base64(&STANDARD.encode([8_u8; 32])).unwrap();
        assert!(other.open("sk_a", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(kek().open("sk_a", &flipped).is_err());
        assert!(kek().open("sk_a", &sealed[..40]).is_err());
        assert!(kek().open("sk_a", &seed).is_err());
    }

    #[test]
    fn keks_are_32_bytes_of_base64() {
        assert!(
            KeyEncryptionKey::from_base64(&format!(" {}\n", STANDARD.encode([1_u8; 32]))).is_ok()
        );
        for bad in [
            String::new(),
            "not base64!".to_owned(),
            STANDARD.encode([1_u8; 16]),
            STANDARD.encode([1_u8; 33]),
        ] {
            assert!(
                matches!(
                    KeyEncryptionKey::from_base64(&bad),
                    Err(KekError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(format!("{:?}", kek()), "KeyEncryptionKey(<redacted>)");
    }

    #[cfg(unix)]
    #[test]
    fn a_kek_file_must_be_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.kek");
        KeyEncryptionKey::create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        KeyEncryptionKey::from_file(&path).unwrap();
        // Never overwritten.
        assert!(KeyEncryptionKey::create_file(&path).is_err());
        for open in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open)).unwrap();
            let error = KeyEncryptionKey::from_file(&path).unwrap_err();
            assert!(matches!(error, KekError::TooOpen { .. }), "{open:o}");
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        KeyEncryptionKey::from_file(&path).unwrap();
        assert!(matches!(
            KeyEncryptionKey::from_file(&dir.path().join("missing")),
            Err(KekError::Unreadable { .. })
        ));
    }
}
