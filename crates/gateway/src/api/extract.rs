//! What the API's handlers take from a request, each refusing in the API's JSON error
//! shape: a JSON body ([`Body`]), a query string ([`Params`]), the caller's verified bearer
//! token ([`Bearer`]), and the currency to price in ([`CurrencyParam`]).

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chassis::auth::Caller;
use chassis::error::FieldViolation;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::{ApiError, GatewayError};
use crate::shop::account;

/// A JSON body; a body that does not parse is a JSON error, like every other.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(GatewayError::Invalid(vec![FieldViolation::new(
                "body",
                rejection.body_text(),
            )])
            .into()),
        }
    }
}

/// A query string; one that does not parse is a JSON error.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(GatewayError::Invalid(vec![FieldViolation::new(
                "query",
                rejection.body_text(),
            )])
            .into()),
        }
    }
}

/// The caller of a shopper's call, from a verified `Authorization: Bearer` token.
#[derive(Debug)]
pub struct Bearer {
    /// The token, to pass on.
    pub token: String,
    /// Who it names.
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chassis::auth::bearer_token(v).ok())
            .ok_or(GatewayError::Unauthenticated)?
            .to_owned();
        let caller = account::verify(app, &token)
            .await
            .map_err(|_| GatewayError::Unauthenticated)?;
        Ok(Self { token, caller })
    }
}

/// A bearer token that is optional (a guest's, at sign-up and log-in): absent or invalid
/// means none.
impl axum::extract::OptionalFromRequestParts<AppState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Self as FromRequestParts<AppState>>::from_request_parts(parts, app)
                .await
                .ok(),
        )
    }
}

/// `?currency=EUR`: the currency to price in.
#[derive(Debug, Default, Deserialize)]
pub struct CurrencyParam {
    /// ISO 4217 code; dollars when absent or not offered.
    #[serde(default)]
    pub currency: Option<String>,
}

impl CurrencyParam {
    /// The code asked for; empty for none.
    pub fn code(&self) -> &str {
        self.currency.as_deref().unwrap_or_default()
    }
}
