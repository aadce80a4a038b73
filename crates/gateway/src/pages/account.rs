//! Sign-up, log-in, log-out and the currency selector.
//!
//! Signing up or logging in opens a new session at identity, moves the guest's cart into
//! the account (cart `MergeGuestCart`, proven with the guest's own token), and replaces the
//! session cookies, anti-forgery token included. A cart that cannot be merged (cart down)
//! does not stop the log-in.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chassis::auth::CallerKind;
use serde::Deserialize;
use tonic::Code;

use super::form::{CsrfForm, EmptyForm};
use super::{Chrome, PageError, here, local_path, render};
use crate::app::{App, AppState};
use crate::error::GatewayError;
use crate::money::is_currency_code;
use crate::session::{
    ACCESS_COOKIE, CURRENCY_COOKIE, NAME_COOKIE, REFRESH_COOKIE, Session, SetCookie, add_cookies,
    session_cookies,
};
use crate::shop::account::{self, Opened, SignUp};
use crate::shop::cart;

/// The sign-up or log-in page.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// The header.
    pub chrome: Chrome,
    /// "signup" or "login".
    pub mode: &'static str,
    /// The email typed so far.
    pub email: String,
    /// The display name typed so far (sign-up).
    pub name: String,
    /// What went wrong.
    pub errors: Vec<String>,
}

/// The sign-up and log-in forms.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    /// Compared case-insensitively by identity: one account per address.
    #[serde(default)]
    pub email: String,
    /// Passed to identity as given (10..=128 characters at sign-up).
    #[serde(default)]
    pub password: String,
    /// Display name (sign-up only).
    #[serde(default)]
    pub display_name: String,
}

async fn page(
    app: &App,
    session: &Session,
    uri: &Uri,
    mode: &'static str,
    form: Option<&AccountForm>,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let title = if mode == "signup" {
        "Create an account"
    } else {
        "Log in"
    };
    let chrome = Chrome::new(app, session, title, &here(uri)).await;
    render(
        status,
        &AccountPage {
            chrome,
            mode,
            email: form.map(|f| f.email.clone()).unwrap_or_default(),
            name: form.map(|f| f.display_name.clone()).unwrap_or_default(),
            errors,
        },
    )
}

/// GET /signup.
pub async fn signup_page(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    page(
        &app,
        &session,
        &uri,
        "signup",
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// GET /login.
pub async fn login_page(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    page(
        &app,
        &session,
        &uri,
        "login",
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// POST /signup.
pub async fn signup(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    let result = account::sign_up(
        &app,
        SignUp {
            email: form.email.trim().to_owned(),
            password: form.password.clone(),
            display_name: form.display_name.trim().to_owned(),
        },
    )
    .await;
    finish(&app, &session, &uri, "signup", &form, result).await
}

/// POST /login.
pub async fn login(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    uri: Uri,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    let result = account::log_in(&app, form.email.trim().to_owned(), form.password.clone()).await;
    finish(&app, &session, &uri, "login", &form, result).await
}

/// After SignUp or LogIn: merge the guest's cart, set the new session, go home; or show the
/// form again with what was wrong.
async fn finish(
    app: &App,
    session: &Session,
    uri: &Uri,
    mode: &'static str,
    form: &AccountForm,
    result: Result<Opened, GatewayError>,
) -> Response {
    let opened = match result {
        Ok(opened) => opened,
        Err(error) => {
            let message = match error.code() {
                Code::AlreadyExists => {
                    "An account with this email already exists; log in instead.".to_owned()
                }
                Code::Unauthenticated => "The email or the password is wrong.".to_owned(),
                Code::ResourceExhausted => {
                    "Too many attempts; please wait a few minutes and try again.".to_owned()
                }
                Code::InvalidArgument => error
                    .field_violations()
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => error.message(),
            };
            error.log();
            let status = error.http_status();
            return page(app, session, uri, mode, Some(form), vec![message], status).await;
        }
    };
    let guest = session
        .caller
        .as_ref()
        .filter(|c| c.kind == CallerKind::Guest)
        .and(session.token.as_deref());
    if let Some(guest_token) = guest {
        cart::merge_guest(app, guest_token, &opened.access_token).await;
    }
    let mut cookies = session_cookies(&opened.access_token, &opened.refresh_token);
    cookies.push(SetCookie::session(
        NAME_COOKIE,
        URL_SAFE_NO_PAD.encode(form.email.trim()),
    ));
    let mut response = Redirect::to("/").into_response();
    add_cookies(&mut response, &cookies, app.secure_cookies);
    response
}

/// POST /logout: ends the session at identity and forgets it; the next page starts a new
/// guest session.
pub async fn logout(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    if let Some(token) = session.token.as_deref()
        && let Err(error) = account::log_out(&app, token).await
    {
        tracing::info!(code = ?error.code(), "log-out not recorded at identity");
    }
    let mut response = Redirect::to("/").into_response();
    add_cookies(
        &mut response,
        &[
            SetCookie::delete(ACCESS_COOKIE),
            SetCookie::delete(REFRESH_COOKIE),
            SetCookie::delete(NAME_COOKIE),
        ],
        app.secure_cookies,
    );
    response
}

/// The currency selector.
#[derive(Debug, Deserialize)]
pub struct CurrencyForm {
    /// The chosen code.
    pub currency: String,
    /// Where to go back to.
    #[serde(default)]
    pub back: String,
}

/// POST /currency: remembers the chosen currency and goes back.
pub async fn currency(
    State(app): State<AppState>,
    CsrfForm(form): CsrfForm<CurrencyForm>,
) -> Result<Response, PageError> {
    let code = form.currency.trim().to_uppercase();
    if !is_currency_code(&code) {
        return Err(
            GatewayError::Invalid(vec![chassis::error::FieldViolation::new(
                "currency",
                "must be a three-letter ISO 4217 code",
            )])
            .into(),
        );
    }
    let mut response = Redirect::to(&local_path(&form.back)).into_response();
    add_cookies(
        &mut response,
        &[SetCookie::session(CURRENCY_COOKIE, code)],
        app.secure_cookies,
    );
    Ok(response)
}
