//! What an orders call can fail with, and its one mapping to a `tonic::Status`; and what
//! can stop orders from starting.

use chassis::error::{ErrorDomain, FieldViolation};
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, ErrorInfo, ResourceInfo, StatusExt};

/// The `google.rpc.ErrorInfo` domain of orders' errors.
pub const DOMAIN: &str = "bazaar.orders";
/// The resource type of products in `ResourceInfo` details.
pub const PRODUCT_RESOURCE: &str = "bazaar.catalog.v1.Product";
/// The resource type of orders in `ResourceInfo` details.
pub const ORDER_RESOURCE: &str = "bazaar.orders.v1.Order";

/// What an orders call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// Checkout of an empty cart.
    #[error("the cart is empty")]
    CartEmpty,
    /// The cart holds products the catalog no longer has.
    #[error("products not found: {0:?}")]
    ProductsNotFound(Vec<String>),
    /// A request id used before with other parameters.
    #[error("request id reused with other parameters")]
    RequestIdReused,
    /// A call with the same request id is still pricing the cart.
    #[error("a call with this request id is in progress")]
    InProgress,
    /// The caller already has this many PENDING orders, the most allowed.
    #[error("too many pending orders (at most {0})")]
    TooManyPending(u32),
    /// The order's total is more than one charge may take.
    #[error("the order's total is more than one payment may take")]
    OrderTooLarge,
    /// This many event streams are open already, the most allowed.
    #[error("too many event streams (at most {0})")]
    TooManySubscribers(usize),
    /// No order of the caller has this id.
    #[error("order not found: {0}")]
    OrderNotFound(String),
    /// A service needed before the order is recorded failed.
    #[error("{service} failed: {status}")]
    Upstream {
        /// Which service.
        service: &'static str,
        /// What it answered.
        status: Status,
    },
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
    /// The store is not open yet.
    #[error("store not ready")]
    NotReady,
    /// A fault of our own or a contract broken by another service.
    #[error("{0}")]
    Internal(String),
}

impl From<FieldViolation> for OrdersError {
    fn from(violation: FieldViolation) -> Self {
        OrdersError::Invalid(vec![violation])
    }
}

impl From<OrdersError> for Status {
    fn from(error: OrdersError) -> Self {
        use chassis::error::with_reason;
        match error {
            OrdersError::Invalid(violations) => chassis::error::invalid_argument(violations),
            OrdersError::CartEmpty => with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "CART_EMPTY",
                "the cart is empty: add products before checking out",
                [],
            ),
            OrdersError::ProductsNotFound(ids) => {
                let mut details = vec![ErrorDetail::ErrorInfo(ErrorInfo::new(
                    "PRODUCT_NOT_FOUND",
                    DOMAIN,
                    std::collections::HashMap::new(),
                ))];
                details.extend(ids.iter().map(|id| {
                    ErrorDetail::ResourceInfo(ResourceInfo::new(
                        PRODUCT_RESOURCE,
                        id,
                        "",
                        "no longer in the catalog: remove it from the cart",
                    ))
                }));
                Status::with_error_details_vec(
                    Code::FailedPrecondition,
                    format!(
                        "the cart holds products the catalog no longer has: {}",
                        ids.join(", ")
                    ),
                    details,
                )
            }
            OrdersError::TooManyPending(max) => with_reason(
                Code::ResourceExhausted,
                DOMAIN,
                "TOO_MANY_PENDING_ORDERS",
                format!(
                    "you have {max} orders still being processed: wait for them to be \
                     placed or to fail (GetOrder) before placing another"
                ),
                [("max_pending_orders".to_owned(), max.to_string())],
            ),
            OrdersError::OrderTooLarge => with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "ORDER_TOO_LARGE",
                format!(
                    "the order's total is more than one payment may take (the equivalent \
                     of {} US dollars): order fewer items at once",
                    crate::checkout::MAX_CHARGE_USD_UNITS
                ),
                [(
                    "max_usd_units".to_owned(),
                    crate::checkout::MAX_CHARGE_USD_UNITS.to_string(),
                )],
            ),
            OrdersError::TooManySubscribers(max) => with_reason(
                Code::ResourceExhausted,
                DOMAIN,
                "TOO_MANY_SUBSCRIBERS",
                format!("{max} event streams are open already; retry later with backoff"),
                [("max_event_streams".to_owned(), max.to_string())],
            ),
            OrdersError::RequestIdReused => ErrorDomain(DOMAIN).request_id_reused([]),
            OrdersError::InProgress => chassis::error::in_progress(),
            OrdersError::OrderNotFound(id) => chassis::error::not_found(ORDER_RESOURCE, &id),
            OrdersError::Upstream { service, status } => {
                tracing::warn!(service, code = ?status.code(), message = status.message(),
                    "checkout cannot reach a service it needs");
                match status.code() {
                    Code::DeadlineExceeded => Status::deadline_exceeded(format!(
                        "{service} did not answer in time; retry with the same request_id"
                    )),
                    Code::Unauthenticated => Status::unauthenticated(status.message()),
                    _ => Status::unavailable(format!(
                        "{service} is unavailable; retry with the same request_id"
                    )),
                }
            }
            OrdersError::Store(error) => chassis::error::unavailable("orders store", &error),
            OrdersError::NotReady => {
                Status::unavailable("the service's store is not ready yet; retry shortly")
            }
            OrdersError::Internal(message) => {
                tracing::error!(%message, "orders fault");
                Status::internal("orders: internal error")
            }
        }
    }
}
