//! Sessions at identity: a guest's, one opened by signing up or logging in, its renewal
//! and its end; and verifying an access token.
//!
//! Every call carries the client's address ([`crate::upstreams::call_for_client`]), by
//! which identity throttles log-ins and guest sessions. Tokens are verified offline with
//! identity's keys (fetched once, and again only for a
//! key id not seen yet), so a shopper with a valid token is known while identity is down.

use bazaar_contract::identity::v1::{
    LogInRequest, LogOutRequest, RefreshSessionRequest, SignUpRequest, StartGuestSessionRequest,
};
use chassis::auth::{Caller, TokenError};

use crate::app::App;
use crate::error::GatewayError;
use crate::upstreams::call_for_client as call;

/// A session identity has just opened or renewed.
#[derive(Clone)]
pub struct Opened {
    /// Sent as `Authorization: Bearer` on the shopper's calls; short-lived.
    pub access_token: String,
    /// Traded for a new access token when that one expires.
    pub refresh_token: String,
    /// Seconds since the Unix epoch when the access token expires.
    pub access_token_expire_time: i64,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("access_token_expire_time", &self.access_token_expire_time)
            .finish_non_exhaustive()
    }
}

/// What a new shopper gives to sign up.
#[derive(Clone)]
pub struct SignUp {
    /// Their email, also their log-in.
    pub email: String,
    /// Passed to identity as given; the `Debug` of a `SignUp` never shows it.
    pub password: String,
    /// How the shop greets them.
    pub display_name: String,
}

impl std::fmt::Debug for SignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp").finish_non_exhaustive()
    }
}

fn identity_error(status: tonic::Status) -> GatewayError {
    GatewayError::upstream("identity")(status)
}

/// The session in identity's answer; identity always sends one, but the contract's message
/// makes it optional.
fn opened(session: Option<bazaar_contract::identity::v1::Session>) -> Result<Opened, GatewayError> {
    let session = session
        .ok_or_else(|| identity_error(tonic::Status::internal("no session in the answer")))?;
    Ok(Opened {
        access_token_expire_time: session
            .access_token_expire_time
            .map(|t| t.seconds)
            .unwrap_or_default(),
        access_token: session.access_token,
        refresh_token: session.refresh_token,
    })
}

/// A new guest session.
pub async fn start_guest(app: &App) -> Result<Opened, GatewayError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .start_guest_session(call(
            StartGuestSessionRequest {},
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(identity_error)?
        .into_inner()
        .session;
    opened(session)
}

/// Creates an account and opens a session for it.
pub async fn sign_up(app: &App, account: SignUp) -> Result<Opened, GatewayError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .sign_up(call(
            SignUpRequest {
                email: account.email,
                password: account.password,
                display_name: account.display_name,
            },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(identity_error)?
        .into_inner()
        .session;
    opened(session)
}

/// Opens a session for an account.
pub async fn log_in(app: &App, email: String, password: String) -> Result<Opened, GatewayError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .log_in(call(
            LogInRequest { email, password },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(identity_error)?
        .into_inner()
        .session;
    opened(session)
}

/// A new access token for the session of `refresh_token`.
pub async fn refresh(app: &App, refresh_token: String) -> Result<Opened, GatewayError> {
    let mut identity = app.upstreams.identity.clone();
    let session = identity
        .refresh_session(call(
            RefreshSessionRequest { refresh_token },
            app.upstreams.deadlines.critical,
            None,
        ))
        .await
        .map_err(identity_error)?
        .into_inner()
        .session;
    opened(session)
}

/// Ends the session of `token` at identity.
pub async fn log_out(app: &App, token: &str) -> Result<(), GatewayError> {
    let mut identity = app.upstreams.identity.clone();
    identity
        .log_out(call(
            LogOutRequest {},
            app.upstreams.deadlines.critical,
            Some(token),
        ))
        .await
        .map_err(identity_error)?;
    Ok(())
}

/// Who `token` names, if it is valid.
pub async fn verify(app: &App, token: &str) -> Result<Caller, TokenError> {
    app.upstreams.verifier.verify(token).await
}
