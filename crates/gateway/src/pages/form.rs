//! The forms of the pages, and the proof that a form was sent from one of our own pages.
//!
//! Every form that changes something carries the session's anti-forgery token
//! (`bazaar_csrf`, see [`crate::session`]) in a hidden `csrf` field, and its handler takes a
//! [`CsrfForm`], which refuses the form unless the field matches the cookie: a cross-site
//! page can make a browser send our cookies but cannot read them to fill the field.
//! Protection by type, not by remembering to check. The same-origin check in
//! [`crate::security`] is the second line.

use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::PageError;
use crate::app::AppState;
use crate::error::GatewayError;
use crate::session::Session;

/// The largest form the gateway reads.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A form that changes something, accepted only with the session's anti-forgery token in
/// its `csrf` field. Any handler that takes a `CsrfForm` is protected by its type.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// A form with nothing but its anti-forgery token.
#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let session = request.extensions().get::<Session>().cloned();
        let body = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                GatewayError::Invalid(vec![chassis::error::FieldViolation::new(
                    "form",
                    "too large or unreadable",
                )])
            })?;
        let given: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        let expected = session.map(|s| s.csrf).unwrap_or_default();
        if !same_secret(&given.csrf, &expected) {
            return Err(GatewayError::Forbidden(
                "the form is out of date or was not sent from this shop; reload the page and try again",
            )
            .into());
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|error| {
            GatewayError::Invalid(vec![chassis::error::FieldViolation::new(
                "form",
                error.to_string(),
            )])
        })?;
        Ok(Self(form))
    }
}

/// Compares two strings in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
    }
}
