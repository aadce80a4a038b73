//! The gRPC face of identity: accounts, sessions and the tokens every service verifies.
//!
//! Handlers are thin: they parse the request into domain types (field violations named
//! after the proto fields), apply the throttles, call the store, and shape the answer.
//! LogOut, GetCurrentUser and ClaimAdmin take the caller from the access token that the
//! chassis auth layer verified (with identity's own keys), never from a request field.
//!
//! Never logged or returned: passwords, refresh tokens, admin codes, access tokens (except
//! the ones a caller is being given). Spans carry user ids only.

mod accounts;
mod admin;
mod sessions;

use std::net::IpAddr;
use std::sync::Arc;

use bazaar_contract::identity::v1::{self as pb, identity_service_server::IdentityService};
use bazaar_contract::values::calendar::timestamp;
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};
use tracing::field::Empty;

use crate::client::client_of;
use crate::clock::Clock;
use crate::domain::ADMIN_ROLE;
use crate::error::IdentityError;
use crate::keys::{KeyError, Keys};
use crate::password::Hasher;
use crate::store::{IdentityStore, UserRecord};
use crate::throttle::ClientLimit;

/// The store and the keys, once both are loaded.
#[derive(Debug)]
pub struct Ready {
    /// Where identity keeps its data.
    pub store: IdentityStore,
    /// The signing keys.
    pub keys: Keys,
    /// A hash of a random password nobody knows, verified against when an email is unknown
    /// so that an unknown email costs as much time as a wrong password.
    pub decoy_hash: String,
}

/// The identity service.
#[derive(Clone, Debug)]
pub struct IdentityApi {
    ready: StoreCell<Ready>,
    clock: Arc<dyn Clock>,
    clients: Arc<ClientLimit>,
    hasher: Hasher,
}

impl IdentityApi {
    /// A service that answers once `ready` is set.
    pub fn new(
        ready: StoreCell<Ready>,
        clock: Arc<dyn Clock>,
        client_attempts_per_minute: u32,
        hasher: Hasher,
    ) -> Self {
        Self {
            ready,
            clock,
            clients: Arc::new(ClientLimit::new(client_attempts_per_minute)),
            hasher,
        }
    }

    /// The role names of `user`: "admin" for a registered user who redeemed an admin code.
    fn roles(&self, user: &UserRecord) -> Vec<String> {
        if user.kind == "guest" || user.admin_since_ms.is_none() {
            return Vec::new();
        }
        vec![ADMIN_ROLE.to_owned()]
    }

    fn user_to_pb(&self, user: &UserRecord) -> pb::User {
        // "admin" is the only role there is.
        let roles = self
            .roles(user)
            .iter()
            .map(|_| pb::Role::Admin as i32)
            .collect();
        pb::User {
            id: user.id.clone(),
            kind: if user.kind == "guest" {
                pb::UserKind::Guest
            } else {
                pb::UserKind::Registered
            } as i32,
            email: user.email.clone().unwrap_or_default(),
            display_name: user.display_name.clone(),
            roles,
            create_time: Some(timestamp(user.create_ms)),
        }
    }

    /// Counts an attempt of the calling client (the end user, see [`crate::client`])
    /// against its per-client allowance; the client, for the log-in throttle.
    fn limit_client<T>(&self, request: &Request<T>) -> Result<Option<IpAddr>, IdentityError> {
        let client = client_of(request);
        self.clients
            .attempt(client, self.clock.now_ms())
            .map_err(IdentityError::Throttled)?;
        Ok(client)
    }

    /// The store and keys, or NOT_READY while they are still loading.
    fn ready(&self) -> Result<&Ready, IdentityError> {
        self.ready.get().map_err(|_| IdentityError::NotReady)
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn sign_up(
        &self,
        request: Request<pb::SignUpRequest>,
    ) -> Result<Response<pb::SignUpResponse>, Status> {
        self.limit_client(&request)?;
        Ok(Response::new(self.register(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn log_in(
        &self,
        request: Request<pb::LogInRequest>,
    ) -> Result<Response<pb::LogInResponse>, Status> {
        let client = self.limit_client(&request)?;
        Ok(Response::new(
            self.authenticate(request.into_inner(), client).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn start_guest_session(
        &self,
        request: Request<pb::StartGuestSessionRequest>,
    ) -> Result<Response<pb::StartGuestSessionResponse>, Status> {
        self.limit_client(&request)?;
        Ok(Response::new(self.open_guest().await?))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Result<Response<pb::RefreshSessionResponse>, Status> {
        Ok(Response::new(self.refresh(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn log_out(
        &self,
        request: Request<pb::LogOutRequest>,
    ) -> Result<Response<pb::LogOutResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        tracing::Span::current().record("user", caller.user_id.as_str());
        let ready = self.ready()?;
        // Ending an ended session changes nothing: LogOut is idempotent.
        ready
            .store
            .end_session(&caller.session_id, self.clock.now_ms())
            .await
            .map_err(IdentityError::from)?;
        tracing::info!("logged out");
        Ok(Response::new(pb::LogOutResponse {}))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn get_current_user(
        &self,
        request: Request<pb::GetCurrentUserRequest>,
    ) -> Result<Response<pb::GetCurrentUserResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        tracing::Span::current().record("user", caller.user_id.as_str());
        let ready = self.ready()?;
        let user = self.current_user(ready, &caller).await?;
        Ok(Response::new(pb::GetCurrentUserResponse {
            user: Some(self.user_to_pb(&user)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_signing_keys(
        &self,
        request: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        Ok(Response::new(self.list_keys(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(user = Empty))]
    async fn claim_admin(
        &self,
        request: Request<pb::ClaimAdminRequest>,
    ) -> Result<Response<pb::ClaimAdminResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        tracing::Span::current().record("user", caller.user_id.as_str());
        Ok(Response::new(
            self.claim_admin_for(&caller, request.into_inner()).await?,
        ))
    }
}

fn internal(error: impl Into<KeyError>) -> IdentityError {
    IdentityError::Internal(error.into().to_string())
}
