//! The identity service: users, sessions, access tokens and the keys that sign them.
//!
//! Registered users sign up with an email and a password (stored only as an Argon2id hash);
//! guests get an anonymous user. Either way a session opens with a long-lived refresh token
//! (stored only as a SHA-256 hash) and a 15-minute access token: an EdDSA-signed JWT that
//! every other service verifies offline with the public keys of ListSigningKeys (see
//! `chassis::auth`). identity verifies its own tokens the same way for LogOut and
//! GetCurrentUser, and additionally checks that the session is still open.
//!
//! The signing keys' private halves are stored sealed under a key-encryption key that is
//! never in the store ([`seal`]). An admin is a registered user who redeemed a one-time code
//! that only the operator can issue ([`admin`]). Failed log-ins are counted in the store per
//! (account, client), so the delays they cause hold across replicas and never lock out
//! anyone but the guesser; the client is the end user, as the gateway names it
//! ([`client`]). Password hashing is bounded ([`password`]), and ended sessions and idle
//! guests are deleted in the background ([`retention`]).
//!
//! Layout: [`domain`] (emails, passwords), [`password`] (hashing), [`keys`] (signing keys),
//! [`seal`] (keys sealed at rest), [`admin`] (admin codes), [`session`] (sessions and their
//! tokens), [`client`] (who the end user is), [`throttle`] (slowing down guessers),
//! [`retention`] (forgetting what ended), [`store`] (SQL), [`api`] (gRPC handlers),
//! [`error`] (the error enum and its gRPC status), [`clock`] (time, injectable for tests),
//! [`config`].
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod client;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod keys;
pub mod password;
pub mod retention;
pub mod seal;
pub mod session;
pub mod store;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::identity::v1::identity_service_server::IdentityServiceServer;
use chassis::Shutdown;
use chassis::auth::Verifier;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup, Unrecoverable};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};
use ed25519_dalek::VerifyingKey;

pub use config::Config;

use crate::api::{IdentityApi, Ready};
use crate::clock::Clock;
use crate::domain::Password;
use crate::keys::{KeyError, hex, random_bytes};
use crate::password::Hasher;
use crate::retention::Retention;
use crate::seal::KeyEncryptionKey;
use crate::store::{IdentityStore, MIGRATIONS};

/// The identity service: accounts and sessions in its store, and the keys that sign tokens.
#[derive(Debug)]
pub struct Identity {
    api: IdentityApi,
    ready: StoreCell<Ready>,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    database_url: String,
    kek: KeyEncryptionKey,
    hasher: Hasher,
    retention: Retention,
    sweep_every: Duration,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Identity {
    const SPEC: &'static Spec = &topology::IDENTITY;
    type Config = Config;

    /// identity verifies the tokens of LogOut and GetCurrentUser with its own keys, the same
    /// way every service does; they are added as soon as they are loaded. A missing,
    /// malformed or unprotected key-encryption key stops the start here.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        let kek = config.key_encryption_key()?;
        let ready = StoreCell::new();
        let clock = setup.clock();
        let verifier = Verifier::with_keys([]);
        setup.verify_with(verifier.clone());
        let hasher = Hasher::new(config.password_hash_permits);
        let api = IdentityApi::new(
            ready.clone(),
            clock.clone(),
            config.client_attempts_per_minute,
            hasher.clone(),
        );
        Ok(Self {
            api,
            ready,
            verifier,
            clock,
            database_url: config.database_url(),
            kek,
            hasher,
            retention: Retention::days(config.guest_retention_days, config.session_retention_days),
            sweep_every: Duration::from_secs(config.sweep_every_secs.max(1)),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(IdentityServiceServer::new(self.api.clone()));
    }

    /// Opens the store, loads (or makes) the signing keys and trusts them, and hashes a
    /// decoy password so that log-ins of unknown accounts take as long as real ones. Keys
    /// that do not open with the key-encryption key stop the service: retrying cannot help,
    /// and new keys would invalidate every token.
    async fn open(&self) -> Result<(), BoxError> {
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        let store = IdentityStore::new(pool);
        let keys = match keys::load_or_create(&store, &self.kek, self.clock.now_ms()).await {
            Ok(keys) => keys,
            Err(error @ (KeyError::WrongKek(_) | KeyError::Corrupt(_))) => {
                store.pool().close().await;
                return Err(Unrecoverable(error.into()).into());
            }
            Err(error) => return Err(error.into()),
        };
        for key in &keys.all {
            let bytes: [u8; 32] = key
                .public_key
                .as_slice()
                .try_into()
                .map_err(|_| keys::KeyError::Corrupt(key.key_id.clone()))?;
            let public = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| keys::KeyError::Corrupt(key.key_id.clone()))?;
            self.verifier.add_key(key.key_id.clone(), public);
        }
        let decoy = Password::new_for(None, &hex(&random_bytes::<16>()?))?;
        let decoy_hash = self.hasher.hash(decoy).await?;
        self.ready.set(Ready {
            store,
            keys,
            decoy_hash,
        });
        Ok(())
    }

    /// Deletes ended sessions and idle guests, every `--sweep-every-secs`.
    async fn background(self: Arc<Self>, stop: Shutdown) {
        retention::run(
            self.ready.clone(),
            self.clock.clone(),
            self.retention,
            self.sweep_every,
            stop,
        )
        .await;
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.ready, |ready: &Ready| ready.store.pool()).await?)
    }

    async fn close(&self) {
        if let Ok(ready) = self.ready.get() {
            ready.store.pool().close().await;
        }
    }
}
