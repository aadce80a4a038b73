//! The services orders calls, through their generated clients over chassis upstreams
//! (lazy connections, deadlines, balancing over every configured address), and how their
//! errors are read: the `google.rpc.ErrorInfo` reason and metadata, and whether a failure
//! is worth another try.

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use chassis::client::{Upstream, UpstreamError};
use chassis::service::Setup;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::config::Config;

/// One client per service orders calls; cheap to clone.
#[derive(Clone, Debug)]
pub struct Clients {
    /// The shopper's cart (called with the shopper's token).
    pub cart: CartServiceClient<Upstream>,
    /// Products and prices.
    pub catalog: CatalogServiceClient<Upstream>,
    /// Exchange rates (optional: orders fall back to USD without it).
    pub currency: CurrencyServiceClient<Upstream>,
    /// Stock reservations.
    pub inventory: InventoryServiceClient<Upstream>,
    /// Charges and refunds.
    pub payment: PaymentServiceClient<Upstream>,
    /// Quotes and shipments.
    pub shipping: ShippingServiceClient<Upstream>,
}

impl Clients {
    /// Channels to every service at the configured addresses, made by the chassis (so that
    /// each call shows who orders is); nothing connects until the first call.
    pub fn connect(config: &Config, setup: &Setup<'_>) -> Result<Self, UpstreamError> {
        let upstream = |name: &'static str, list: &str| setup.upstream(name, list);
        Ok(Self {
            cart: CartServiceClient::new(upstream("cart", &config.cart_addr)?),
            catalog: CatalogServiceClient::new(upstream("catalog", &config.catalog_addr)?),
            currency: CurrencyServiceClient::new(upstream("currency", &config.currency_addr)?),
            inventory: InventoryServiceClient::new(upstream("inventory", &config.inventory_addr)?),
            payment: PaymentServiceClient::new(upstream("payment", &config.payment_addr)?),
            shipping: ShippingServiceClient::new(upstream("shipping", &config.shipping_addr)?),
        })
    }
}

/// The `ErrorInfo` reason of a status, if it has one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// One entry of the `ErrorInfo` metadata of a status.
pub fn metadata(status: &Status, key: &str) -> Option<String> {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
}

/// Whether `status` has `code` and `reason`.
pub fn is(status: &Status, code: Code, expected: &str) -> bool {
    status.code() == code && reason(status).as_deref() == Some(expected)
}

/// Whether a failure says nothing about the request itself (the service is down, slow,
/// busy, or the same request is still running there): the same request may succeed later.
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
    )
}

/// A failure, as one line for the logs.
pub fn describe(service: &str, status: &Status) -> String {
    match reason(status) {
        Some(reason) => format!(
            "{service}: {:?} {reason}: {}",
            status.code(),
            status.message()
        ),
        None => format!("{service}: {:?}: {}", status.code(), status.message()),
    }
}
