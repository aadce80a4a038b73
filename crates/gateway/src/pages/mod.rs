//! The storefront's pages: server-rendered HTML from compiled templates (askama), with
//! every value escaped by the template engine.
//!
//! One file per part of the shop, as the JSON API has ([`crate::api`]); each handler reads
//! its input (path, query, a [`form::CsrfForm`], the session), calls the service layer
//! ([`crate::shop`]) and renders a template. Every page shares [`Chrome`]: the header with
//! the search box, the currency selector, the cart count and the account links, and the
//! anti-forgery token its forms carry. How a page degrades when a service is down:
//!
//! - catalog: nothing can be shown; a 503 page says so;
//! - cart or orders: browsing works; the cart, checkout and order pages answer 503 with a
//!   page that says the feature is unavailable, and the header shows no cart count;
//! - currency: prices in dollars with a note; recommendation: no recommendations;
//!   notification: the confirmation page does not say whether the e-mail has gone yet.

pub mod account;
pub mod browse;
pub mod cart;
pub mod charts;
pub mod dependency_map;
pub mod form;
pub mod orders;
pub mod status;

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::GatewayError;
use crate::money::USD;
use crate::session::Session;
use crate::shop;

/// One entry of the currency selector.
#[derive(Clone, Debug)]
pub struct CurrencyOption {
    /// ISO 4217 code: the value the selector posts.
    pub code: String,
    /// "EUR — Euro".
    pub label: String,
    /// Whether it is the shopper's choice.
    pub selected: bool,
}

/// What every page shows around its content.
#[derive(Clone, Debug, Default)]
pub struct Chrome {
    /// The page title.
    pub title: String,
    /// The anti-forgery token for the page's forms.
    pub csrf: String,
    /// Whether a registered user is logged in.
    pub signed_in: bool,
    /// Whom to greet.
    pub display_name: String,
    /// Units in the cart; `None` when the cart cannot be read.
    pub cart_count: Option<i32>,
    /// The currency selector.
    pub currencies: Vec<CurrencyOption>,
    /// Set when prices are in dollars because conversion failed.
    pub currency_note: Option<&'static str>,
    /// This page's path and query, to come back to after changing currency.
    pub back: String,
    /// The search box's text.
    pub query: String,
    /// Whether the shopper's controls (currency, account, cart) are shown: not on pages
    /// that work without a session (status, errors).
    pub interactive: bool,
}

impl Chrome {
    /// The header for `session` on the page at `back`. The page's prices are in the
    /// shopper's currency, `session.currency`, which the service layer resolves the same
    /// way from the same (cached) list.
    pub async fn new(app: &App, session: &Session, title: &str, back: &str) -> Self {
        let (count, list) = tokio::join!(
            shop::cart::count(app, session.token.as_deref()),
            shop::currency::offered(app)
        );
        let selected = list
            .iter()
            .find(|c| c.code == session.currency)
            .map_or(USD, |c| c.code.as_str());
        let currencies = list
            .iter()
            .map(|c| CurrencyOption {
                code: c.code.clone(),
                label: format!("{} — {}", c.code, c.name),
                selected: c.code == selected,
            })
            .collect();
        Self {
            title: title.to_owned(),
            csrf: session.csrf.clone(),
            signed_in: session.is_user(),
            display_name: session.display_name.clone().unwrap_or_default(),
            cart_count: count,
            currencies,
            currency_note: None,
            back: back.to_owned(),
            query: String::new(),
            interactive: true,
        }
    }

    /// A header that needs no service: for error pages.
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            currencies: vec![CurrencyOption {
                code: USD.to_owned(),
                label: "USD — US Dollar".to_owned(),
                selected: true,
            }],
            back: "/".to_owned(),
            ..Self::default()
        }
    }
}

/// Renders a page with a status code.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => PageError(GatewayError::Render(error)).into_response(),
    }
}

/// A page that says something went wrong.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The header.
    pub chrome: Chrome,
    /// The HTTP status code.
    pub status: u16,
    pub heading: String,
    /// The explanation.
    pub message: String,
}

/// A page that says a feature is unavailable because a service is down (HTTP 503), with
/// the rest of the shop still in reach.
#[derive(Template)]
#[template(path = "unavailable.html")]
pub struct UnavailablePage {
    /// The header.
    pub chrome: Chrome,
    /// The heading, e.g. "Your cart is unavailable right now".
    pub heading: String,
    /// The explanation.
    pub message: String,
}

/// Renders the "feature unavailable" page.
pub fn unavailable(chrome: Chrome, heading: &str, error: &GatewayError) -> Response {
    error.log();
    render(
        StatusCode::SERVICE_UNAVAILABLE,
        &UnavailablePage {
            chrome,
            heading: heading.to_owned(),
            message: format!(
                "{} You can keep browsing the shop meanwhile.",
                error.message()
            ),
        },
    )
}

/// An error as a page.
#[derive(Debug)]
pub struct PageError(pub GatewayError);

impl From<GatewayError> for PageError {
    fn from(error: GatewayError) -> Self {
        Self(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.http_status();
        let heading = match self.0.code() {
            _ if self.0.is_unavailable() && self.0.service() == Some("catalog") => {
                "The shop is unavailable right now"
            }
            _ if self.0.is_unavailable() => "Unavailable right now",
            tonic::Code::NotFound => "Not found",
            tonic::Code::ResourceExhausted => "Too many requests",
            tonic::Code::PermissionDenied => "Not allowed",
            tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => "That did not work",
            _ => "Something went wrong",
        }
        .to_owned();
        let page = ErrorPage {
            chrome: Chrome::bare(&heading),
            status: status.as_u16(),
            heading,
            message: self.0.message(),
        };
        let mut response = match page.render() {
            Ok(html) => {
                (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
            }
            Err(error) => {
                tracing::error!(%error, "the error page does not render");
                (status, self.0.message()).into_response()
            }
        };
        crate::error::add_retry_after(&mut response, &self.0);
        response
    }
}

/// A path to come back to after a form: a local path only, never another site.
pub fn local_path(candidate: &str) -> String {
    let is_local = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.contains('\\')
        && !candidate.chars().any(char::is_control);
    if is_local {
        candidate.to_owned()
    } else {
        "/".to_owned()
    }
}

/// The path and query of a request, to come back to.
pub fn here(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/product/lamp?x=1"), "/product/lamp?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path(""), "/");
    }
}
