//! Signing keys sealed at rest: the seed never reaches the disk in clear, the same
//! key-encryption key opens it after a restart, a wrong one stops identity without touching
//! the keys, and keys an older store kept in clear are sealed in place.

use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use chassis::service::{Bound, StartError};
use chassis::testing::Overrides;
use ed25519_dalek::SigningKey;
use identity::Identity;
use identity::clock::{Clock, ManualClock};
use identity::seal::KeyEncryptionKey;
use identity::store::{KeyRecord, MIGRATIONS};

use crate::support::{Backend, PASSWORD, Settings, random_kek, sqlite_bytes};

on_every_backend!(
    a_wrong_key_encryption_key_stops_identity_and_changes_nothing,
    keys_an_older_store_kept_in_clear_are_sealed_in_place,
);

/// identity's store at version 2, before keys were sealed.
const BEFORE_SEALING: chassis::store::Migrations = chassis::migrations![
    1 => "identity", "0001_identity",
    2 => "login failures by time", "0002_login_failures_by_time",
];

/// The stored keys, read as the operator's tools read them.
async fn stored_keys(backend: &Backend) -> Vec<KeyRecord> {
    let store = backend.store_with(&MIGRATIONS).await;
    let keys = store.keys().await.expect("the keys");
    store.pool().close().await;
    keys
}

#[tokio::test]
async fn seeds_are_on_disk_only_sealed() {
    let backend = Backend::sqlite();
    let identity = backend.start().await;
    let listed = identity.all_keys(0).await;
    identity.sign_up("ada@example.com").await;
    identity.stop().await;

    let stored = stored_keys(&backend).await;
    assert_eq!(stored.len(), 1);
    let key = &stored[0];
    assert!(key.sealed);
    let kek = KeyEncryptionKey::from_base64(&backend.kek).unwrap();
    let seed = kek.open(&key.key_id, &key.private_seed).unwrap();
    assert_eq!(
        SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes()
            .as_slice(),
        listed[0].public_key.as_slice(),
        "the sealed seed is the listed key's"
    );
    let bytes = sqlite_bytes(&backend);
    assert!(
        bytes
            .windows(32)
            .any(|w| w == listed[0].public_key.as_slice()),
        "the file holds the public key: the search reads what was written"
    );
    assert!(
        !bytes.windows(32).any(|w| w == seed),
        "the seed is on disk in clear"
    );
    assert!(
        !String::from_utf8_lossy(&bytes).contains(backend.kek.trim_end_matches('=')),
        "the key-encryption key is on disk"
    );
    backend.finish().await;
}

async fn a_wrong_key_encryption_key_stops_identity_and_changes_nothing(backend: &Backend) {
    let identity = backend.start().await;
    let keys = identity.all_keys(0).await;
    let session = identity.sign_up("ada@example.com").await.session.unwrap();
    identity.stop().await;
    let before: Vec<_> = stored_keys(backend)
        .await
        .into_iter()
        .map(|k| (k.key_id, k.private_seed))
        .collect();

    // Started with another key, identity binds, fails to open its keys, and stops by
    // itself with an error that says what is wrong: it does not retry, and makes no key.
    let config = backend.config(&Settings {
        kek: Some(random_kek()),
        ..Settings::default()
    });
    let clock = Arc::new(ManualClock::new());
    let bound = Bound::<Identity>::bind_with(&config, &Overrides::default().clock(clock))
        .await
        .expect("identity binds");
    let outcome = tokio::time::timeout(Duration::from_secs(60), bound.run(Shutdown::new()))
        .await
        .expect("identity stops by itself");
    let error = outcome.expect_err("a wrong key-encryption key is a start error");
    assert!(matches!(error, StartError::Open { .. }), "{error:?}");
    let message = chassis::error::chain(&error);
    assert!(
        message.contains("not the key-encryption key the signing keys were sealed with"),
        "{message}"
    );
    let after: Vec<_> = stored_keys(backend)
        .await
        .into_iter()
        .map(|k| (k.key_id, k.private_seed))
        .collect();
    assert_eq!(before, after, "the stored keys are untouched");

    // With the right key again, everything issued before still works.
    let identity = backend.start().await;
    assert_eq!(identity.all_keys(0).await, keys);
    identity.me(&session.access_token).await.unwrap();
    identity
        .verifier()
        .await
        .verify(&session.access_token)
        .await
        .unwrap();
    identity.stop().await;
}

#[tokio::test]
async fn a_malformed_or_missing_key_encryption_key_is_refused_at_start() {
    let backend = Backend::sqlite();
    let mut config = backend.config(&Settings {
        kek: Some("too short".to_owned()),
        ..Settings::default()
    });
    let error = Bound::<Identity>::bind(&config).await.unwrap_err();
    assert!(
        chassis::error::chain(&error).contains("is not the base64 of 32 bytes"),
        "{}",
        chassis::error::chain(&error)
    );
    config.key_encryption_key = None;
    let error = Bound::<Identity>::bind(&config).await.unwrap_err();
    assert!(
        chassis::error::chain(&error).contains("BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY"),
        "{}",
        chassis::error::chain(&error)
    );
    // A file others may read is refused; the same file made private is used.
    let file = backend.dir.path().join("identity.kek");
    std::fs::write(&file, format!("{}\n", backend.kek)).unwrap();
    config.key_encryption_key_file = Some(file.clone());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Bound::<Identity>::bind(&config).await.unwrap_err();
        assert!(
            chassis::error::chain(&error).contains("chmod 600"),
            "{}",
            chassis::error::chain(&error)
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Bound::<Identity>::bind(&config)
        .await
        .expect("a private key file is used");
    backend.finish().await;
}

async fn keys_an_older_store_kept_in_clear_are_sealed_in_place(backend: &Backend) {
    // A store as identity left it before keys were sealed: forty keys, their seeds in
    // clear; the newest, sk_old, signs. (Enough rows that SQLite, updating one, leaves the
    // old cell in the page's free space unless told to zero it.)
    let seeds: Vec<(String, [u8; 32], i64)> = (0..40_u8)
        .map(|i| {
            let key_id = if i == 0 {
                "sk_old".to_owned()
            } else {
                format!("sk_{i:02}")
            };
            (key_id, [0x30 + i; 32], i64::from(i) + 1)
        })
        .collect();
    let seed = seeds[0].1;
    let public = SigningKey::from_bytes(&seed).verifying_key();
    {
        let old = backend.store_with(&BEFORE_SEALING).await;
        for (key_id, seed, hours_ago) in &seeds {
            sqlx::query(
                "INSERT INTO signing_keys (key_id, private_seed, public_key, create_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key_id.clone())
            .bind(seed.to_vec())
            .bind(
                SigningKey::from_bytes(seed)
                    .verifying_key()
                    .to_bytes()
                    .to_vec(),
            )
            .bind(ManualClock::new().now_ms() - hours_ago * 3_600_000)
            .execute(old.pool())
            .await
            .expect("an old key stored");
        }
        old.pool().close().await;
    }

    let identity = backend.start().await;
    let listed = identity.all_keys(0).await;
    assert_eq!(listed.len(), 40, "no new key was made");
    assert_eq!(listed[0].key_id, "sk_old");
    // The old key still signs: tokens carry its id and verify with its public half.
    let signed = identity.sign_up("ada@example.com").await.session.unwrap();
    assert_eq!(
        chassis::auth::key_id(&signed.access_token).unwrap(),
        "sk_old"
    );
    let verifier = chassis::auth::Verifier::with_keys([("sk_old".to_owned(), public)]);
    verifier.verify(&signed.access_token).await.unwrap();
    identity.stop().await;

    let stored = stored_keys(backend).await;
    let kek = KeyEncryptionKey::from_base64(&backend.kek).unwrap();
    for ((key_id, seed, _), record) in seeds.iter().zip(&stored) {
        assert_eq!(&record.key_id, key_id);
        assert!(record.sealed);
        assert_ne!(&record.private_seed, seed);
        assert_eq!(kek.open(key_id, &record.private_seed).unwrap(), *seed);
    }
    if backend.sqlite_file().is_some() {
        let bytes = sqlite_bytes(backend);
        for (key_id, seed, _) in &seeds {
            assert!(
                !bytes.windows(32).any(|w| w == seed.as_slice()),
                "the seed of {key_id} in clear is still in the file (free space included)"
            );
        }
    }

    // And it keeps working after another restart.
    let identity = backend.start().await;
    identity.log_in("ada@example.com", PASSWORD).await.unwrap();
    identity.me(&signed.access_token).await.unwrap();
    identity.stop().await;
}
