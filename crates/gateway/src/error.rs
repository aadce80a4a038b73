//! One error type for everything a request to the gateway can run into, with one mapping
//! from gRPC codes to HTTP status codes and one JSON shape for the API.
//!
//! A downstream failure keeps the service's name and its `tonic::Status`, so the API can
//! pass on the code, the field violations (`google.rpc.BadRequest`) and the reason
//! (`google.rpc.ErrorInfo`) that the service gave; pages show a short sentence instead.
//! The JSON shape, stable and documented in the OpenAPI document:
//!
//! ```json
//! {"error": {"code": "UNAVAILABLE", "status": 503, "message": "...", "service": "cart",
//!            "reason": null, "field_violations": [{"field": "...", "description": "..."}]}}
//! ```

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chassis::error::FieldViolation;
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A service answered with an error (or could not be reached).
    #[error("{service}: {}", .status.message())]
    Upstream {
        /// Which service.
        service: &'static str,
        /// What it said.
        status: tonic::Status,
    },
    /// The request itself is not acceptable (a form or JSON body the gateway checked).
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// A state-changing request without a valid anti-forgery token or from another origin.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// An API call that needs a shopper's token came without one.
    #[error("missing or invalid access token")]
    Unauthenticated,
    /// No such page or resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// A feature is turned off because a service it needs is down.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The client sent more requests than its allowance; it may try again after this long.
    #[error("too many requests")]
    TooManyRequests(std::time::Duration),
    /// The gateway is over its limit of requests in progress: shed at once; try again after
    /// this long.
    #[error("over the limit of requests in progress")]
    Overloaded(std::time::Duration),
    /// A template failed to render (a bug).
    #[error("rendering failed")]
    Render(#[from] askama::Error),
}

impl GatewayError {
    /// A downstream failure.
    pub fn upstream(service: &'static str) -> impl FnOnce(tonic::Status) -> Self {
        move |status| Self::Upstream { service, status }
    }

    /// The gRPC code this error stands for.
    pub fn code(&self) -> Code {
        match self {
            Self::Upstream { status, .. } => status.code(),
            Self::Invalid(_) => Code::InvalidArgument,
            Self::Forbidden(_) => Code::PermissionDenied,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::NotFound(_) => Code::NotFound,
            Self::Unavailable(_) | Self::Overloaded(_) => Code::Unavailable,
            Self::TooManyRequests(_) => Code::ResourceExhausted,
            Self::Render(_) => Code::Internal,
        }
    }

    /// The HTTP status code: that of the gRPC code, except that a service refusing for
    /// overload is `503`, not the `429` of a client over its own allowance.
    pub fn http_status(&self) -> StatusCode {
        if self.overload_pushback().is_some() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        http_status(self.code())
    }

    /// When a service refused the call for overload (`RESOURCE_EXHAUSTED` with
    /// `grpc-retry-pushback-ms`, see `chassis::limit`), how long it asked callers to wait.
    pub fn overload_pushback(&self) -> Option<std::time::Duration> {
        let Self::Upstream { status, .. } = self else {
            return None;
        };
        if status.code() != Code::ResourceExhausted {
            return None;
        }
        let ms: u64 = status
            .metadata()
            .get(chassis::retry::PUSHBACK)?
            .to_str()
            .ok()?
            .parse()
            .ok()?;
        Some(std::time::Duration::from_millis(ms))
    }

    /// Whether the service behind this error is down, too slow or too busy (the feature
    /// degrades).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
        ) || self.overload_pushback().is_some()
    }

    /// The service that failed, if a service did.
    pub fn service(&self) -> Option<&'static str> {
        match self {
            Self::Upstream { service, .. } | Self::Unavailable(service) => Some(service),
            _ => None,
        }
    }

    /// How long the client should wait before trying again, when it was refused for
    /// calling too often: the gateway's own limit, or a service's `RetryInfo`.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyRequests(wait) | Self::Overloaded(wait) => Some(*wait),
            Self::Upstream { status, .. } if status.code() == Code::ResourceExhausted => {
                self.overload_pushback().or_else(|| {
                    status
                        .get_details_retry_info()
                        .and_then(|info| info.retry_delay)
                })
            }
            _ => None,
        }
    }

    /// The `ErrorInfo` reason a service gave (or the gateway's own), if any.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Upstream { .. } if self.overload_pushback().is_some() => {
                Some("OVERLOADED".to_owned())
            }
            Self::Upstream { status, .. } => status.get_details_error_info().map(|i| i.reason),
            Self::TooManyRequests(_) => Some("TOO_MANY_REQUESTS".to_owned()),
            Self::Overloaded(_) => Some("OVERLOADED".to_owned()),
            _ => None,
        }
    }

    /// The fields that were wrong, from the gateway's own checks or a service's
    /// `BadRequest` detail.
    pub fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Self::Invalid(violations) => violations.clone(),
            Self::Upstream { status, .. } => status
                .get_details_bad_request()
                .map(|bad| {
                    bad.field_violations
                        .into_iter()
                        .map(|v| FieldViolation::new(v.field, v.description))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// A short message fit for the person using the shop. Internal causes are logged, not
    /// shown.
    pub fn message(&self) -> String {
        match self {
            Self::Upstream { service, .. } if self.overload_pushback().is_some() => {
                format!("The {service} service is busy right now; please try again in a moment.")
            }
            Self::Upstream { service, status } => match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    format!("The {service} service is unavailable right now; please try again in a moment.")
                }
                Code::Internal | Code::Unknown | Code::DataLoss => {
                    format!("The {service} service failed; please try again.")
                }
                _ => status.message().to_owned(),
            },
            Self::Invalid(violations) => violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Forbidden(why) => format!("Forbidden: {why}."),
            Self::Unauthenticated => {
                "An access token is needed: send `Authorization: Bearer <token>` (POST /api/v1/session/guest gives one).".to_owned()
            }
            Self::NotFound(what) => format!("{what} was not found."),
            Self::Unavailable(service) => {
                format!("The {service} service is unavailable right now; please try again in a moment.")
            }
            Self::TooManyRequests(wait) => format!(
                "Too many requests from your address; please wait {} s and try again.",
                retry_after_secs(*wait)
            ),
            Self::Overloaded(wait) => format!(
                "The shop is busy right now; please wait {} s and try again.",
                retry_after_secs(*wait)
            ),
            Self::Render(_) => "The page could not be rendered.".to_owned(),
        }
    }

    /// Logs the error at a level that fits it.
    pub fn log(&self) {
        // Shedding is the plan working, and under overload there is one per request: a
        // warning each would flood the log when it is least affordable.
        if matches!(self, Self::Overloaded(_)) || self.overload_pushback().is_some() {
            tracing::debug!(error = %self, "request shed");
            return;
        }
        match self.http_status().as_u16() {
            500.. => {
                tracing::warn!(error = %chassis::error::chain(self), code = ?self.code(), "request failed");
            }
            _ => tracing::debug!(error = %self, "request refused"),
        }
    }
}

/// Whole seconds to wait, for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0 || wait.is_zero())
}

/// The HTTP status code for a gRPC code, as Google's API guidelines map them.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        // 499 "client closed request", as in Google's mapping.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The name of a gRPC code as the API shows it ("NOT_FOUND").
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The JSON body of an API error.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// The gRPC code's name, e.g. "UNAVAILABLE".
    pub code: &'static str,
    /// The HTTP status code, repeated for clients that only see the body.
    pub status: u16,
    /// A short explanation.
    pub message: String,
    /// The service that failed, if one did.
    pub service: Option<&'static str>,
    /// The machine-readable reason a service gave (`ErrorInfo.reason`), if any.
    pub reason: Option<String>,
    /// The fields that were wrong.
    pub field_violations: Vec<Violation>,
}

/// One field that was wrong.
#[derive(Debug, Serialize)]
pub struct Violation {
    /// Its path, e.g. `shipping_address.postal_code`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl From<&GatewayError> for ErrorBody {
    fn from(error: &GatewayError) -> Self {
        Self {
            error: ErrorDetail {
                code: code_name(error.code()),
                status: error.http_status().as_u16(),
                message: error.message(),
                service: error.service(),
                reason: error.reason(),
                field_violations: error
                    .field_violations()
                    .into_iter()
                    .map(|v| Violation {
                        field: v.field,
                        description: v.description,
                    })
                    .collect(),
            },
        }
    }
}

/// An error as the JSON API answers it.
#[derive(Debug)]
pub struct ApiError(pub GatewayError);

impl<E: Into<GatewayError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let mut response = (self.0.http_status(), Json(ErrorBody::from(&self.0))).into_response();
        add_retry_after(&mut response, &self.0);
        response
    }
}

/// `Retry-After` (whole seconds) on an answer to a client refused for calling too often.
pub fn add_retry_after(response: &mut Response, error: &GatewayError) {
    if let Some(wait) = error.retry_after() {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(retry_after_secs(wait)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_the_usual_http_codes() {
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            http_status(Code::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn the_json_body_carries_code_service_and_fields() {
        let status =
            chassis::error::invalid_argument([FieldViolation::new("email", "must contain @")]);
        let error = GatewayError::Upstream {
            service: "orders",
            status,
        };
        let body = serde_json::to_value(ErrorBody::from(&error)).unwrap();
        assert_eq!(body["error"]["code"], "INVALID_ARGUMENT");
        assert_eq!(body["error"]["status"], 400);
        assert_eq!(body["error"]["service"], "orders");
        assert_eq!(body["error"]["field_violations"][0]["field"], "email");
    }

    #[test]
    fn a_service_refusing_for_overload_is_503_with_its_pushback() {
        let mut status = tonic::Status::resource_exhausted("over its concurrency limit");
        status.metadata_mut().insert(
            chassis::retry::PUSHBACK,
            tonic::metadata::MetadataValue::from(1200u64),
        );
        let error = GatewayError::Upstream {
            service: "orders",
            status,
        };
        assert_eq!(error.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.is_unavailable(), "the feature degrades");
        assert_eq!(
            error.retry_after(),
            Some(std::time::Duration::from_millis(1200))
        );
        assert_eq!(retry_after_secs(error.retry_after().unwrap()), 2);
        assert_eq!(error.reason().as_deref(), Some("OVERLOADED"));
        let mut response = ApiError(error).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers_mut()[axum::http::header::RETRY_AFTER], "2");

        // A throttle of one client (no pushback hint) stays 429.
        let throttled = GatewayError::Upstream {
            service: "identity",
            status: tonic::Status::resource_exhausted("too many attempts"),
        };
        assert_eq!(throttled.http_status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(!throttled.is_unavailable());
    }

    #[test]
    fn a_service_that_is_down_is_unavailable_and_named() {
        let error = GatewayError::Upstream {
            service: "cart",
            status: tonic::Status::unavailable("connection refused"),
        };
        assert!(error.is_unavailable());
        assert_eq!(error.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.message().contains("cart"));
    }
}
