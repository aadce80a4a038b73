//! The identity service: users, sessions, access tokens and the keys that sign them.
//!
//! Registered users sign up with an email and a password (stored only as an Argon2id hash);
//! guests get an anonymous user. Either way a session opens with a long-lived refresh token
//! (stored only as a SHA-256 hash) and a 15-minute access token: an EdDSA-signed JWT that
//! every other service verifies offline with the public keys of ListSigningKeys (see
//! `chassis::auth`). identity verifies its own tokens the same way for LogOut and
//! GetCurrentUser, and additionally checks that the session is still open.
//!
//! Admins are named in the configuration (`--admin-emails`), never through the API. Failed
//! log-ins are counted in the store so that a lock holds across replicas.
//!
//! Layout: [`domain`] (emails, passwords, admins), [`password`] (hashing), [`keys`] (signing
//! keys), [`session`] (sessions and their tokens), [`throttle`] (slowing down guessers),
//! [`store`] (SQL), [`api`] (gRPC handlers), [`error`] (the error enum and its gRPC status),
//! [`clock`] (time, injectable for tests), [`config`].
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod keys;
pub mod password;
pub mod session;
pub mod store;
pub mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;

use bazaar_contract::identity::v1::identity_service_server::IdentityServiceServer;
use chassis::auth::Verifier;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};
use ed25519_dalek::VerifyingKey;

pub use config::Config;

use crate::api::{IdentityApi, Ready};
use crate::clock::{Clock, SystemClock};
use crate::domain::Password;
use crate::keys::{hex, random_bytes};
use crate::store::{IdentityStore, MIGRATIONS};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "identity";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50053;

/// identity bound to its address, not yet serving.
#[derive(Debug)]
pub struct Identity {
    server: Server,
    readiness: Readiness,
    ready: StoreCell<Ready>,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    database_url: String,
}

impl Identity {
    /// Binds the listening socket, with the system clock.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        Self::bind_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Binds the listening socket, reading time from `clock` (tests pass a clock they move).
    pub async fn bind_with_clock(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServeError> {
        let ready = StoreCell::new();
        // identity verifies the tokens of LogOut and GetCurrentUser with its own keys, the
        // same way every service does; they are added as soon as they are loaded.
        let verifier = Verifier::with_keys([]);
        let api = IdentityApi::new(
            ready.clone(),
            clock.clone(),
            config.admins(),
            config.client_attempts_per_minute,
        );
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .with_auth(verifier.clone())
            .add_service(
                IdentityServiceServer::new(api)
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        Ok(Self {
            server,
            readiness,
            ready,
            verifier,
            clock,
            database_url: config.database_url(),
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store and loads (or makes) the signing keys in the background, then serves
    /// until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let verifier = self.verifier.clone();
        let clock = self.clock.clone();
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.ready.clone(),
            move |pool| {
                let verifier = verifier.clone();
                let clock = clock.clone();
                async move {
                    let store = IdentityStore::new(pool);
                    let keys = keys::load_or_create(&store, clock.now_ms()).await?;
                    for key in &keys.all {
                        let bytes: [u8; 32] = key
                            .public_key
                            .as_slice()
                            .try_into()
                            .map_err(|_| keys::KeyError::Corrupt(key.key_id.clone()))?;
                        let public = VerifyingKey::from_bytes(&bytes)
                            .map_err(|_| keys::KeyError::Corrupt(key.key_id.clone()))?;
                        verifier.add_key(key.key_id.clone(), public);
                    }
                    let decoy = Password::new_for(None, &hex(&random_bytes::<16>()?))?;
                    let decoy_hash = password::hash(decoy).await?;
                    Ok(Ready {
                        store,
                        keys,
                        decoy_hash,
                    })
                }
            },
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        if let Ok(ready) = self.ready.get() {
            ready.store.pool().close().await;
        }
        result
    }
}

/// Runs identity as a process would: sets up logging, binds, serves until `shutdown`.
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), ServeError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let identity = Identity::bind(&config).await?;
    identity.run(shutdown).await
}
