//! SignUp, LogIn and StartGuestSession: who a user is.
//!
//! LogIn answers an unknown email and a wrong password alike (same status, same message,
//! same time spent hashing) and counts both as failures of that email by that client, so
//! neither the answer nor the delays tell which emails have accounts (see
//! [`crate::throttle`]).

use std::net::IpAddr;
use std::time::Duration;

use bazaar_contract::identity::v1 as pb;
use bazaar_contract::values::ids::{GUEST, USER};
use chassis::error::{FieldViolation, Violations};

use super::{IdentityApi, internal};
use crate::domain::{Email, Password, display_name};
use crate::error::IdentityError;
use crate::store::{CreateUserError, UserRecord};
use crate::throttle::{FAILURE_WINDOW, next_attempt_at};

impl IdentityApi {
    /// SignUp: a new registered user and a first session.
    pub(super) async fn register(
        &self,
        request: pb::SignUpRequest,
    ) -> Result<pb::SignUpResponse, IdentityError> {
        let mut violations = Violations::new();
        let email = violations.check(Email::parse("email", &request.email));
        let password = violations.check(Password::new_for(email.as_ref(), &request.password));
        let name = violations.check(display_name(&request.display_name));
        let (email, password, name) = violations
            .finish(|| Some((email?, password?, name?)))
            .map_err(IdentityError::Invalid)?;
        let ready = self.ready()?;
        let hash = self.hasher.hash(password).await?;
        let user = UserRecord {
            id: USER.generate().map_err(internal)?,
            kind: "user".to_owned(),
            email: Some(email.as_str().to_owned()),
            display_name: name,
            create_ms: self.clock.now_ms(),
            admin_since_ms: None,
        };
        ready
            .store
            .create_user(&user, Some(&hash))
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => IdentityError::EmailTaken,
                CreateUserError::Store(e) => IdentityError::Store(e),
            })?;
        tracing::Span::current().record("user", user.id.as_str());
        let session = self.open_session(ready, &user).await?;
        tracing::info!("signed up");
        Ok(pb::SignUpResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        })
    }

    /// LogIn: checks whether `client` must still wait for this email, then the password,
    /// and opens a session.
    pub(super) async fn authenticate(
        &self,
        request: pb::LogInRequest,
        client: Option<IpAddr>,
    ) -> Result<pb::LogInResponse, IdentityError> {
        let mut violations = Violations::new();
        let email = violations.check(Email::parse("email", &request.email));
        if request.password.is_empty() {
            violations.add(FieldViolation::new("password", "is required"));
        }
        let email = violations
            .finish(|| email)
            .map_err(IdentityError::Invalid)?;
        let ready = self.ready()?;
        let client = crate::client::key(client);
        let now = self.clock.now_ms();
        let window_start = now - FAILURE_WINDOW.as_millis() as i64;
        let failures = ready
            .store
            .failures_since(email.as_str(), &client, window_start)
            .await?;
        if let Some(until) = next_attempt_at(&failures).filter(|until| *until > now) {
            tracing::info!("log-in refused: this client must wait after its failures");
            return Err(IdentityError::Throttled(Duration::from_millis(
                (until - now) as u64,
            )));
        }
        // An unknown email is checked against the decoy, so both cases take as long.
        let (user, hash) = match ready.store.user_by_email(email.as_str()).await? {
            Some((user, hash)) => (Some(user), hash),
            None => (None, ready.decoy_hash.clone()),
        };
        let matches = self.hasher.verify(request.password, hash).await?;
        let Some(user) = user.filter(|_| matches) else {
            ready
                .store
                .record_failure(email.as_str(), &client, now, window_start)
                .await?;
            tracing::info!("log-in refused: invalid credentials");
            return Err(IdentityError::InvalidCredentials);
        };
        tracing::Span::current().record("user", user.id.as_str());
        ready.store.clear_failures(email.as_str(), &client).await?;
        let session = self.open_session(ready, &user).await?;
        tracing::info!("logged in");
        Ok(pb::LogInResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        })
    }

    /// StartGuestSession: a new guest and its session.
    pub(super) async fn open_guest(&self) -> Result<pb::StartGuestSessionResponse, IdentityError> {
        let ready = self.ready()?;
        let user = UserRecord {
            id: GUEST.generate().map_err(internal)?,
            kind: "guest".to_owned(),
            email: None,
            display_name: String::new(),
            create_ms: self.clock.now_ms(),
            admin_since_ms: None,
        };
        ready
            .store
            .create_user(&user, None)
            .await
            .map_err(|e| match e {
                // Guests have no email, so this cannot happen; report it if it does.
                CreateUserError::EmailTaken => IdentityError::Internal("guest email clash".into()),
                CreateUserError::Store(e) => IdentityError::Store(e),
            })?;
        tracing::Span::current().record("user", user.id.as_str());
        let session = self.open_session(ready, &user).await?;
        Ok(pb::StartGuestSessionResponse {
            user: Some(self.user_to_pb(&user)),
            session: Some(session),
        })
    }
}
