//! Sessions for programs: a guest session, sign-up, log-in, renewal and log-out. Signing up
//! or logging in with a guest's bearer token moves the guest's cart into the account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chassis::auth::CallerKind;
use serde::{Deserialize, Serialize};

use super::extract::{Bearer, Body};
use crate::app::{App, AppState};
use crate::error::{ApiError, GatewayError};
use crate::shop::account::{self, Opened, SignUp};
use crate::shop::cart;

/// A session, as the API hands it out.
#[derive(Debug, Serialize)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <access_token>`; lives 15 minutes.
    pub access_token: String,
    /// Trade it at `POST /api/v1/session/refresh` for a new access token.
    pub refresh_token: String,
    /// Seconds since the Unix epoch when the access token expires.
    pub access_token_expire_time: i64,
    /// Identity's id of the user or guest, the `sub` of the access token.
    pub user_id: String,
    /// "user" or "guest".
    pub kind: &'static str,
}

/// The session identity opened, with whom its token names.
async fn session_response(app: &App, opened: Opened) -> Result<SessionResponse, ApiError> {
    let caller = account::verify(app, &opened.access_token)
        .await
        .map_err(|_| GatewayError::Upstream {
            service: "identity",
            status: tonic::Status::internal("the new token does not verify"),
        })?;
    Ok(SessionResponse {
        access_token_expire_time: opened.access_token_expire_time,
        access_token: opened.access_token,
        refresh_token: opened.refresh_token,
        user_id: caller.user_id,
        kind: match caller.kind {
            CallerKind::User => "user",
            CallerKind::Guest => "guest",
        },
    })
}

/// POST /api/v1/session/guest.
pub async fn start_guest(
    State(app): State<AppState>,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let opened = account::start_guest(&app).await?;
    Ok((
        StatusCode::CREATED,
        Json(session_response(&app, opened).await?),
    ))
}

/// Sign-up and log-in bodies.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// Compared case-insensitively by identity: one account per address.
    pub email: String,
    /// Passed to identity as given (10..=128 characters at sign-up).
    pub password: String,
    /// Display name (sign-up only).
    #[serde(default)]
    pub display_name: String,
}

/// A session opened by sign-up or log-in, and what became of the guest's cart.
#[derive(Debug, Serialize)]
pub struct LoggedIn {
    /// The new session.
    #[serde(flatten)]
    pub session: SessionResponse,
    /// Whether a guest cart (from the request's guest token) was merged into the account.
    pub guest_cart_merged: bool,
}

/// Merges the cart of `guest`, when it is a guest's token, into the new session's account.
async fn merge_guest(app: &App, guest: Option<&Bearer>, user_token: &str) -> bool {
    match guest.filter(|g| g.caller.kind == CallerKind::Guest) {
        Some(guest) => cart::merge_guest(app, &guest.token, user_token).await,
        None => false,
    }
}

/// POST /api/v1/session/signup (with a guest's bearer token, its cart is merged).
pub async fn signup(
    State(app): State<AppState>,
    guest: Option<Bearer>,
    Body(body): Body<Credentials>,
) -> Result<(StatusCode, Json<LoggedIn>), ApiError> {
    let opened = account::sign_up(
        &app,
        SignUp {
            email: body.email,
            password: body.password,
            display_name: body.display_name,
        },
    )
    .await?;
    let session = session_response(&app, opened).await?;
    let guest_cart_merged = merge_guest(&app, guest.as_ref(), &session.access_token).await;
    Ok((
        StatusCode::CREATED,
        Json(LoggedIn {
            session,
            guest_cart_merged,
        }),
    ))
}

/// POST /api/v1/session/login (with a guest's bearer token, its cart is merged).
pub async fn login(
    State(app): State<AppState>,
    guest: Option<Bearer>,
    Body(body): Body<Credentials>,
) -> Result<Json<LoggedIn>, ApiError> {
    let opened = account::log_in(&app, body.email, body.password).await?;
    let session = session_response(&app, opened).await?;
    let guest_cart_merged = merge_guest(&app, guest.as_ref(), &session.access_token).await;
    Ok(Json(LoggedIn {
        session,
        guest_cart_merged,
    }))
}

#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    /// The session's refresh token.
    pub refresh_token: String,
}

/// POST /api/v1/session/refresh.
pub async fn refresh(
    State(app): State<AppState>,
    Body(body): Body<RefreshBody>,
) -> Result<Json<SessionResponse>, ApiError> {
    let opened = account::refresh(&app, body.refresh_token).await?;
    Ok(Json(session_response(&app, opened).await?))
}

/// POST /api/v1/session/logout.
pub async fn logout(State(app): State<AppState>, bearer: Bearer) -> Result<StatusCode, ApiError> {
    account::log_out(&app, &bearer.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
