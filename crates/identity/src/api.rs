//! The gRPC face of identity: accounts, sessions and the tokens every service verifies.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contract::identity::v1::{self as pb, identity_service_server::IdentityService};
use chassis::auth::{AUDIENCE, Claims, ISSUER};
use chassis::error::FieldViolation;
use chassis::page;
use chassis::store::StoreCell;
use sha2::{Digest, Sha256};
use tonic::{Code, Request, Response, Status};

use crate::clock::Clock;
use crate::domain::{Email, Password, display_name};
use crate::keys::{Keys, hex, random_bytes};
use crate::password;
use crate::store::{CreateUserError, IdentityStore, SessionRecord, UserRecord};
use crate::throttle::{ClientLimit, FAILURE_WINDOW, locked_until};

/// The ErrorInfo domain of identity's errors.
pub const DOMAIN: &str = "bazaar.identity";
/// How long an access token lives.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long a session lives.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long verifiers may cache the list of keys.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10 * 60);

/// What an identity call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// SignUp with an email that has an account.
    #[error("email taken")]
    EmailTaken,
    /// Unknown email or wrong password (deliberately the same).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The session was logged out or has expired.
    #[error("session ended")]
    SessionEnded,
    /// Too many attempts; try again after this long.
    #[error("too many attempts")]
    Throttled(Duration),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
    /// A fault of our own (randomness, hashing).
    #[error("{0}")]
    Internal(String),
}

impl From<FieldViolation> for IdentityError {
    fn from(violation: FieldViolation) -> Self {
        IdentityError::Invalid(vec![violation])
    }
}

impl From<IdentityError> for Status {
    fn from(error: IdentityError) -> Self {
        use chassis::error::with_reason;
        match error {
            IdentityError::Invalid(violations) => chassis::error::invalid_argument(violations),
            IdentityError::EmailTaken => with_reason(
                Code::AlreadyExists,
                DOMAIN,
                "EMAIL_TAKEN",
                "an account with this email exists; log in instead",
                [],
            ),
            IdentityError::InvalidCredentials => with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "INVALID_CREDENTIALS",
                "unknown email or wrong password",
                [],
            ),
            IdentityError::SessionEnded => with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "SESSION_ENDED",
                "the session has ended; log in again",
                [],
            ),
            IdentityError::Throttled(wait) => chassis::error::retry_later(
                DOMAIN,
                "TOO_MANY_ATTEMPTS",
                format!("too many attempts; retry in {} s", wait.as_secs().max(1)),
                wait,
            ),
            IdentityError::Store(error) => chassis::error::unavailable("identity store", &error),
            IdentityError::Internal(message) => {
                tracing::error!(%message, "identity fault");
                Status::internal("identity: internal error")
            }
        }
    }
}

/// The store and the keys, once both are loaded.
#[derive(Debug)]
pub struct Ready {
    /// Where identity keeps its data.
    pub store: IdentityStore,
    /// The signing keys.
    pub keys: Keys,
    /// A hash no password matches, verified against when an email is unknown so that both
    /// cases take the same time.
    pub decoy_hash: String,
}

/// The identity service.
#[derive(Clone, Debug)]
pub struct IdentityApi {
    ready: StoreCell<Ready>,
    clock: Arc<dyn Clock>,
    admins: Arc<Vec<String>>,
    clients: Arc<ClientLimit>,
}

impl IdentityApi {
    /// A service that answers once `ready` is set; `admins` are the normalized emails that get the admin role.
    pub fn new(
        ready: StoreCell<Ready>,
        clock: Arc<dyn Clock>,
        admins: Vec<String>,
        client_attempts_per_minute: u32,
    ) -> Self {
        Self {
            ready,
            clock,
            admins: Arc::new(admins),
            clients: Arc::new(ClientLimit::new(client_attempts_per_minute)),
        }
    }

    fn roles(&self, user: &UserRecord) -> Vec<String> {
        match &user.email {
            Some(email) if user.kind == "user" && self.admins.contains(email) => {
                vec!["admin".to_owned()]
            }
            _ => Vec::new(),
        }
    }

    fn user_to_pb(&self, user: &UserRecord) -> pb::User {
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

    fn limit_client<T>(&self, request: &Request<T>) -> Result<(), IdentityError> {
        self.clients
            .attempt(request.remote_addr().map(|a| a.ip()), self.clock.now_ms())
            .map_err(IdentityError::Throttled)
    }

    /// An access token for `user` in `session`.
    fn access_token(
        &self,
        ready: &Ready,
        user: &UserRecord,
        session: &SessionRecord,
    ) -> (String, i64) {
        let now = self.clock.now_ms() / 1000;
        let exp = now + ACCESS_TOKEN_LIFETIME.as_secs() as i64;
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.id.clone(),
            sid: session.id.clone(),
            kind: user.kind.clone(),
            roles: self.roles(user),
            iat: now,
            exp,
        };
        let token =
            chassis::auth::sign(&claims, &ready.keys.signing_key_id, &ready.keys.signing_key);
        (token, exp * 1000)
    }

    /// Opens a session for `user` and returns it with fresh tokens.
    async fn open_session(
        &self,
        ready: &Ready,
        user: &UserRecord,
    ) -> Result<pb::Session, IdentityError> {
        let now = self.clock.now_ms();
        let refresh = URL_SAFE_NO_PAD.encode(random::<32>()?);
        let session = SessionRecord {
            id: format!("s_{}", hex(&random::<16>()?)),
            user_id: user.id.clone(),
            create_ms: now,
            expire_ms: now + SESSION_LIFETIME.as_millis() as i64,
            end_ms: None,
        };
        ready
            .store
            .create_session(&session, &sha256(&refresh))
            .await?;
        let (access_token, access_expire_ms) = self.access_token(ready, user, &session);
        Ok(pb::Session {
            access_token,
            access_token_expire_time: Some(timestamp(access_expire_ms)),
            refresh_token: refresh,
            expire_time: Some(timestamp(session.expire_ms)),
        })
    }

    /// The caller's user and open session, or UNAUTHENTICATED.
    async fn current(
        &self,
        ready: &Ready,
        caller: &chassis::auth::Caller,
    ) -> Result<(UserRecord, SessionRecord), IdentityError> {
        let session = ready
            .store
            .session(&caller.session_id)
            .await?
            .filter(|s| s.user_id == caller.user_id && s.is_open(self.clock.now_ms()))
            .ok_or(IdentityError::SessionEnded)?;
        let user = ready
            .store
            .user(&caller.user_id)
            .await?
            .ok_or(IdentityError::SessionEnded)?;
        Ok((user, session))
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    #[tracing::instrument(skip_all)]
    async fn sign_up(
        &self,
        request: Request<pb::SignUpRequest>,
    ) -> Result<Response<pb::SignUpResponse>, Status> {
        self.limit_client(&request)?;
        let request = request.into_inner();
        let mut violations = Vec::new();
        let email = Email::parse("email", &request.email)
            .map_err(|v| violations.push(v))
            .ok();
        let password = Password::new_for(email.as_ref(), &request.password)
            .map_err(|v| violations.push(v))
            .ok();
        let name = display_name(&request.display_name)
            .map_err(|v| violations.push(v))
            .ok();
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(IdentityError::Invalid(violations).into());
        };
        let ready = self.ready.get()?;
        let hash = password::hash(password)
            .await
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        let user = UserRecord {
            id: format!("u_{}", hex(&random::<16>()?)),
            kind: "user".to_owned(),
            email: Some(email.as_str().to_owned()),
            display_name: name,
            create_ms: self.clock.now_ms(),
        };
        ready
            .store
            .create_user(&user, Some(&hash))
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => IdentityError::EmailTaken,
                CreateUserError::Store(e) => IdentityError::Store(e),
            })?;
        let session = self.open_session(ready, &user).await?;
        tracing::info!(user = %user.id, "signed up");
        Ok(Response::new(pb::SignUpResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn log_in(
        &self,
        request: Request<pb::LogInRequest>,
    ) -> Result<Response<pb::LogInResponse>, Status> {
        self.limit_client(&request)?;
        let request = request.into_inner();
        let mut violations = Vec::new();
        let email = Email::parse("email", &request.email)
            .map_err(|v| violations.push(v))
            .ok();
        if request.password.is_empty() {
            violations.push(FieldViolation::new("password", "is required"));
        }
        let (Some(email), true) = (email, violations.is_empty()) else {
            return Err(IdentityError::Invalid(violations).into());
        };
        let ready = self.ready.get()?;
        let now = self.clock.now_ms();
        let window_start = now - FAILURE_WINDOW.as_millis() as i64;
        let failures = ready
            .store
            .failures_since(email.as_str(), window_start)
            .await
            .map_err(IdentityError::from)?;
        if let Some(until) = locked_until(&failures).filter(|until| *until > now) {
            return Err(
                IdentityError::Throttled(Duration::from_millis((until - now) as u64)).into(),
            );
        }
        let found = ready
            .store
            .user_by_email(email.as_str())
            .await
            .map_err(IdentityError::from)?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, ready.decoy_hash.clone()),
        };
        let matches = password::verify(request.password, hash).await;
        let Some(user) = user.filter(|_| matches) else {
            ready
                .store
                .record_failure(email.as_str(), now, window_start)
                .await
                .map_err(IdentityError::from)?;
            tracing::info!("log-in refused");
            return Err(IdentityError::InvalidCredentials.into());
        };
        ready
            .store
            .clear_failures(email.as_str())
            .await
            .map_err(IdentityError::from)?;
        let session = self.open_session(ready, &user).await?;
        tracing::info!(user = %user.id, "logged in");
        Ok(Response::new(pb::LogInResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn start_guest_session(
        &self,
        request: Request<pb::StartGuestSessionRequest>,
    ) -> Result<Response<pb::StartGuestSessionResponse>, Status> {
        self.limit_client(&request)?;
        let ready = self.ready.get()?;
        let user = UserRecord {
            id: format!("g_{}", hex(&random::<16>()?)),
            kind: "guest".to_owned(),
            email: None,
            display_name: String::new(),
            create_ms: self.clock.now_ms(),
        };
        ready
            .store
            .create_user(&user, None)
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => IdentityError::Internal("guest email clash".into()),
                CreateUserError::Store(e) => IdentityError::Store(e),
            })?;
        let session = self.open_session(ready, &user).await?;
        Ok(Response::new(pb::StartGuestSessionResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Result<Response<pb::RefreshSessionResponse>, Status> {
        let refresh_token = request.into_inner().refresh_token;
        if refresh_token.is_empty() {
            return Err(
                IdentityError::from(FieldViolation::new("refresh_token", "is required")).into(),
            );
        }
        let ready = self.ready.get()?;
        let session = ready
            .store
            .session_by_refresh(&sha256(&refresh_token))
            .await
            .map_err(IdentityError::from)?
            .filter(|s| s.is_open(self.clock.now_ms()))
            .ok_or(IdentityError::SessionEnded)?;
        let user = ready
            .store
            .user(&session.user_id)
            .await
            .map_err(IdentityError::from)?
            .ok_or(IdentityError::SessionEnded)?;
        let (access_token, access_expire_ms) = self.access_token(ready, &user, &session);
        Ok(Response::new(pb::RefreshSessionResponse {
            session: Some(pb::Session {
                access_token,
                access_token_expire_time: Some(timestamp(access_expire_ms)),
                refresh_token,
                expire_time: Some(timestamp(session.expire_ms)),
            }),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn log_out(
        &self,
        request: Request<pb::LogOutRequest>,
    ) -> Result<Response<pb::LogOutResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let ready = self.ready.get()?;
        ready
            .store
            .end_session(&caller.session_id, self.clock.now_ms())
            .await
            .map_err(IdentityError::from)?;
        tracing::info!(user = %caller.user_id, "logged out");
        Ok(Response::new(pb::LogOutResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn get_current_user(
        &self,
        request: Request<pb::GetCurrentUserRequest>,
    ) -> Result<Response<pb::GetCurrentUserResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let ready = self.ready.get()?;
        let (user, _) = self.current(ready, &caller).await?;
        Ok(Response::new(pb::GetCurrentUserResponse {
            user: Some(self.user_to_pb(&user)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_signing_keys(
        &self,
        request: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        let request = request.into_inner();
        let print = page::fingerprint(&["signing-keys"]);
        let mut violations = Vec::new();
        let Some(page) = page::parse_request(
            request.page_size,
            &request.page_token,
            print,
            (page::DEFAULT_PAGE_SIZE, page::MAX_PAGE_SIZE),
            &mut violations,
        ) else {
            return Err(IdentityError::Invalid(violations).into());
        };
        let offset: usize = match page.position.as_deref().map(str::parse) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => {
                return Err(IdentityError::from(FieldViolation::new(
                    "page_token",
                    page::PageError::BadToken.to_string(),
                ))
                .into());
            }
        };
        let ready = self.ready.get()?;
        let mut keys: Vec<_> = ready
            .keys
            .all
            .iter()
            .skip(offset)
            .take(page.size as usize + 1)
            .collect();
        let next_offset = offset + page.size as usize;
        let next_page_token =
            page::next_token(&mut keys, page.size, print, |_| next_offset.to_string());
        Ok(Response::new(pb::ListSigningKeysResponse {
            signing_keys: keys
                .into_iter()
                .map(|key| pb::SigningKey {
                    key_id: key.key_id.clone(),
                    algorithm: pb::KeyAlgorithm::Ed25519 as i32,
                    public_key: key.public_key.clone(),
                    create_time: Some(timestamp(key.create_ms)),
                })
                .collect(),
            next_page_token,
            cache_ttl: Some(prost_types::Duration {
                seconds: KEY_CACHE_TTL.as_secs() as i64,
                nanos: 0,
            }),
        }))
    }
}

fn random<const N: usize>() -> Result<[u8; N], IdentityError> {
    random_bytes::<N>().map_err(|e| IdentityError::Internal(e.to_string()))
}

fn sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}
