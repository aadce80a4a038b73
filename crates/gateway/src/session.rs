//! Browser sessions: who the shopper is, kept in cookies, with the anti-forgery token that
//! their forms carry.
//!
//! A session is identity's: the gateway keeps nothing but cookies.
//!
//! - `bazaar_session`: the access token (15 minutes), `bazaar_refresh`: the refresh token
//!   (30 days). Both `HttpOnly` (page scripts cannot read them) and `SameSite=Lax` (other
//!   sites' forms and scripts cannot send them). A visit with no session stays without one
//!   while it only browses: home, product, search and category pages make no call to
//!   identity, so page views cannot flood it with guests. The first action that needs a
//!   shopper (adding to the cart, placing an order) starts a guest session
//!   ([`Session::token_or_guest`]) and [`resolve`] sets its cookies on that answer. An
//!   access token that has expired or is about to is renewed with the refresh token; a
//!   session that has ended is forgotten (its cookies deleted). Tokens are verified
//!   offline with identity's keys, so pages work while identity is down as long as the
//!   token is valid.
//! - `bazaar_csrf`: a random anti-forgery token, made with the session and renewed at each
//!   log-in. Every form that changes something carries it in a hidden field, and
//!   [`crate::pages::form::CsrfForm`] refuses a form whose field does not match the cookie.
//! - `bazaar_currency`: the currency the shopper chose; `bazaar_name`: who is logged in, to
//!   greet them (display only, never trusted).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chassis::auth::{Caller, CallerKind, Claims, TokenError};
use tonic::Code;

use crate::app::{App, AppState};
use crate::error::GatewayError;
use crate::money::{USD, is_currency_code};
use crate::random;
use crate::shop::account;

/// The access token cookie.
pub const ACCESS_COOKIE: &str = "bazaar_session";
/// The refresh token cookie.
pub const REFRESH_COOKIE: &str = "bazaar_refresh";
/// The anti-forgery token cookie.
pub const CSRF_COOKIE: &str = "bazaar_csrf";
/// The chosen currency.
pub const CURRENCY_COOKIE: &str = "bazaar_currency";
/// The logged-in shopper's email, for greeting.
pub const NAME_COOKIE: &str = "bazaar_name";
/// How long session cookies live: identity's session lifetime.
const SESSION_MAX_AGE_SECS: i64 = 30 * 24 * 3600;
/// An access token with less than this left is renewed before use.
const RENEW_BEFORE_SECS: i64 = 120;

/// The shopper behind a page request.
#[derive(Clone, Debug)]
pub struct Session {
    /// The access token, when there is a valid session.
    pub token: Option<String>,
    /// Who the token names.
    pub caller: Option<Caller>,
    /// The anti-forgery token the page's forms must carry.
    pub csrf: String,
    /// The chosen currency code (syntactically valid; the shop may not offer it).
    pub currency: String,
    /// The logged-in shopper's email, for greeting.
    pub display_name: Option<String>,
    /// The cookies of a guest session started while handling this request, for
    /// [`resolve`] to set on the answer.
    started: Arc<Mutex<Vec<SetCookie>>>,
}

impl Session {
    /// Whether a registered user (not a guest) is logged in.
    pub fn is_user(&self) -> bool {
        self.caller
            .as_ref()
            .is_some_and(|c| c.kind == CallerKind::User)
    }

    /// A session for the visitor, not opened: the visitor only browses.
    pub fn none(currency: String) -> Self {
        Self {
            token: None,
            caller: None,
            csrf: String::new(),
            currency,
            display_name: None,
            started: Arc::default(),
        }
    }

    /// The access token, starting a guest session when the visitor has none: for the
    /// actions that need a shopper (adding to the cart, placing an order). The new
    /// session's cookies go out with the answer. Unavailable when identity cannot open one.
    pub async fn token_or_guest(&self, app: &App) -> Result<String, GatewayError> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let (token, refresh, _) = start_guest(app).await?;
        if let Ok(mut started) = self.started.lock() {
            started.push(SetCookie::session(ACCESS_COOKIE, token.clone()));
            started.push(SetCookie::session(REFRESH_COOKIE, refresh));
        }
        Ok(token)
    }
}

/// All cookies of a request, by name (the first of a name wins).
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                found
                    .entry(name.trim().to_owned())
                    .or_insert_with(|| value.trim().trim_matches('"').to_owned());
            }
        }
    }
    found
}

/// A `Set-Cookie` to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: &'static str,
    /// Its value (cookie-safe: base64url, JWT or a currency code).
    pub value: String,
    /// Seconds until it expires; 0 deletes it.
    pub max_age: i64,
}

impl SetCookie {
    /// A cookie that lives as long as a session.
    pub fn session(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
            max_age: SESSION_MAX_AGE_SECS,
        }
    }

    /// Deletes a cookie.
    pub fn delete(name: &'static str) -> Self {
        Self {
            name,
            value: String::new(),
            max_age: 0,
        }
    }

    /// The header value: `HttpOnly`, `SameSite=Lax`, path `/`, and `Secure` when asked.
    pub fn header(&self, secure: bool) -> Option<HeaderValue> {
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            self.name, self.value, self.max_age
        ))
        .ok()
    }
}

/// Adds cookies to a response, except those the handler already set (a log-in replaces
/// the session the middleware found).
pub fn add_cookies(response: &mut Response, cookies: &[SetCookie], secure: bool) {
    let already: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once('=').map(|(name, _)| name.to_owned()))
        .collect();
    for cookie in cookies {
        if already.iter().any(|name| name == cookie.name) {
            continue;
        }
        if let Some(value) = cookie.header(secure) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
}

/// The cookies that hold a new session from identity, with a new anti-forgery token.
pub fn session_cookies(access_token: &str, refresh_token: &str) -> Vec<SetCookie> {
    vec![
        SetCookie::session(ACCESS_COOKIE, access_token),
        SetCookie::session(REFRESH_COOKIE, refresh_token),
        SetCookie::session(CSRF_COOKIE, random::token()),
    ]
}

/// Middleware for pages: finds (or starts, or renews) the session, hands it to the handler
/// as an extension, and sets whatever cookies changed.
pub async fn resolve(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let jar = cookies(request.headers());
    let (session, mut set) = find_session(&app, &jar).await;
    let started = session.started.clone();
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    // A poisoned lock means a panic in a handler, whose answer is an error page anyway.
    if let Ok(mut started) = started.lock() {
        set.append(&mut started);
    }
    add_cookies(&mut response, &set, app.secure_cookies);
    response
}

async fn find_session(app: &AppState, jar: &HashMap<String, String>) -> (Session, Vec<SetCookie>) {
    let mut set = Vec::new();
    let csrf = jar
        .get(CSRF_COOKIE)
        .filter(|v| v.len() >= 32 && v.bytes().all(is_token_byte))
        .cloned();
    let mut display_name = jar
        .get(NAME_COOKIE)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());

    let found = match jar.get(ACCESS_COOKIE).filter(|t| !t.is_empty()) {
        Some(token) => match account::verify(app, token).await {
            Ok(caller) if !expiring(token) => Some((token.clone(), caller)),
            Ok(_) | Err(TokenError::Expired) => {
                match renew(app, jar.get(REFRESH_COOKIE)).await {
                    Renewal::Renewed(token, caller) => {
                        set.push(SetCookie::session(ACCESS_COOKIE, token.clone()));
                        Some((token, caller))
                    }
                    Renewal::Ended => None,
                    // identity is down: keep what we have while it still verifies.
                    Renewal::Unavailable => match account::verify(app, token).await {
                        Ok(caller) => Some((token.clone(), caller)),
                        Err(_) => return (degraded(csrf, jar, display_name), set),
                    },
                }
            }
            // identity's keys cannot be had: the cookie may well be valid; keep it.
            Err(TokenError::KeysUnavailable) => return (degraded(csrf, jar, display_name), set),
            Err(error) => {
                tracing::debug!(%error, "session cookie refused; starting a guest session");
                None
            }
        },
        None => None,
    };

    let Some((token, caller)) = found else {
        // No session (or one that has ended): browse without one until an action needs it.
        if jar.contains_key(ACCESS_COOKIE) || jar.contains_key(REFRESH_COOKIE) {
            set.push(SetCookie::delete(ACCESS_COOKIE));
            set.push(SetCookie::delete(REFRESH_COOKIE));
        }
        if display_name.take().is_some() {
            set.push(SetCookie::delete(NAME_COOKIE));
        }
        let csrf = csrf.unwrap_or_else(|| {
            let fresh = random::token();
            set.push(SetCookie::session(CSRF_COOKIE, fresh.clone()));
            fresh
        });
        let session = Session {
            csrf,
            ..Session::none(currency_of(jar))
        };
        return (session, set);
    };
    let csrf = match csrf {
        Some(csrf) => csrf,
        None => {
            let fresh = random::token();
            set.push(SetCookie::session(CSRF_COOKIE, fresh.clone()));
            fresh
        }
    };
    if caller.kind != CallerKind::User {
        display_name = None;
    }
    let session = Session {
        token: Some(token),
        caller: Some(caller),
        csrf,
        display_name,
        ..Session::none(currency_of(jar))
    };
    (session, set)
}

/// A session without a token: identity could not be reached. Pages that need no shopper
/// still work; forms fail their anti-forgery check unless a token cookie exists.
fn degraded(
    csrf: Option<String>,
    jar: &HashMap<String, String>,
    display_name: Option<String>,
) -> Session {
    Session {
        csrf: csrf.unwrap_or_default(),
        display_name,
        ..Session::none(currency_of(jar))
    }
}

fn currency_of(jar: &HashMap<String, String>) -> String {
    jar.get(CURRENCY_COOKIE)
        .filter(|c| is_currency_code(c))
        .cloned()
        .unwrap_or_else(|| USD.to_owned())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Whether a (verified) token expires within [`RENEW_BEFORE_SECS`].
fn expiring(token: &str) -> bool {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice::<Claims>(&json).ok());
    match claims {
        Some(claims) => claims.exp - chassis::auth::now_secs() < RENEW_BEFORE_SECS,
        None => true,
    }
}

enum Renewal {
    Renewed(String, Caller),
    Ended,
    Unavailable,
}

async fn renew(app: &AppState, refresh: Option<&String>) -> Renewal {
    let Some(refresh) = refresh.filter(|r| !r.is_empty()) else {
        return Renewal::Ended;
    };
    match account::refresh(app, refresh.clone()).await {
        Ok(session) => match account::verify(app, &session.access_token).await {
            Ok(caller) => Renewal::Renewed(session.access_token, caller),
            Err(error) => {
                tracing::warn!(%error, "identity issued a token that does not verify");
                Renewal::Unavailable
            }
        },
        Err(error) if matches!(error.code(), Code::Unauthenticated | Code::InvalidArgument) => {
            Renewal::Ended
        }
        Err(error) => {
            tracing::info!(code = ?error.code(), "cannot renew a session");
            Renewal::Unavailable
        }
    }
}

/// A new guest session: its access token, refresh token and who the token names.
async fn start_guest(app: &App) -> Result<(String, String, Caller), GatewayError> {
    let session = account::start_guest(app).await.inspect_err(|error| {
        tracing::info!(code = ?error.code(), "cannot start a guest session");
    })?;
    match account::verify(app, &session.access_token).await {
        Ok(caller) => Ok((session.access_token, session.refresh_token, caller)),
        Err(error) => {
            tracing::warn!(%error, "identity issued a token that does not verify");
            Err(GatewayError::Unavailable("identity"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_parsed_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; bazaar_csrf=xyz ; b=\"q\""),
        );
        headers.append(COOKIE, HeaderValue::from_static("a=2; c=3"));
        let jar = cookies(&headers);
        assert_eq!(jar["a"], "1");
        assert_eq!(jar["bazaar_csrf"], "xyz");
        assert_eq!(jar["b"], "q");
        assert_eq!(jar["c"], "3");
    }

    #[test]
    fn set_cookie_is_http_only_and_same_site() {
        let header = SetCookie::session(ACCESS_COOKIE, "tok")
            .header(false)
            .unwrap();
        let text = header.to_str().unwrap();
        assert!(text.starts_with("bazaar_session=tok; Path=/; Max-Age="));
        assert!(text.contains("HttpOnly"));
        assert!(text.contains("SameSite=Lax"));
        assert!(!text.contains("Secure"));
        let secure = SetCookie::delete(ACCESS_COOKIE).header(true).unwrap();
        assert!(secure.to_str().unwrap().contains("Max-Age=0"));
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
    }
}
