//! The services behind the gateway, as generated gRPC clients over chassis upstreams.
//!
//! Every call goes out through [`call`], which gives it a deadline (short for optional
//! services, longer for the checkout) and, when it acts for a shopper, the shopper's access
//! token as `authorization`. Channels connect lazily, so the gateway starts and serves
//! pages while any service is down; a call to a service that is down fails fast with
//! `UNAVAILABLE` and the page degrades.

use std::time::Duration;

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::notification::v1::notification_service_client::NotificationServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use chassis::auth::Verifier;
use chassis::client::{Upstream, UpstreamError};
use chassis::tls::Tls;
use tonic::metadata::MetadataValue;

use crate::config::{Config, Deadlines, ServiceAddress};

/// One client per service the gateway calls, plus a bare channel to every service for
/// health checks; cheap to clone.
#[derive(Clone, Debug)]
pub struct Upstreams {
    /// Products, categories, search.
    pub catalog: CatalogServiceClient<Upstream>,
    /// Currencies and conversion (optional).
    pub currency: CurrencyServiceClient<Upstream>,
    /// Sessions, sign-up, log-in.
    pub identity: IdentityServiceClient<Upstream>,
    /// The shopper's cart.
    pub cart: CartServiceClient<Upstream>,
    /// Checkout and order history.
    pub orders: OrdersServiceClient<Upstream>,
    /// Sent confirmations (optional).
    pub notification: NotificationServiceClient<Upstream>,
    /// Recommendations (optional).
    pub recommendation: RecommendationServiceClient<Upstream>,
    /// A channel to every service of the shop, for the status page.
    pub all: Vec<(ServiceAddress, Upstream)>,
    /// Verifies shoppers' access tokens offline with identity's keys.
    pub verifier: Verifier,
    /// How long calls may take.
    pub deadlines: Deadlines,
}

impl Upstreams {
    /// Lazy channels to every service at the configured addresses, over `tls` (the
    /// gateway's own certificate, verified by the shop's CA).
    pub fn connect(
        config: &Config,
        tls: &Tls,
        shutdown: &chassis::Shutdown,
    ) -> Result<Self, UpstreamError> {
        let default = config.server.default_deadline();
        let mut all = Vec::new();
        for service in config.services() {
            let upstream = Upstream::connect(service.name, &service.addresses, default, tls)?;
            all.push((service, upstream));
        }
        let channel = |name: &str| {
            all.iter()
                .find(|(service, _)| service.name == name)
                .map(|(_, upstream)| upstream.clone())
                .ok_or_else(|| UpstreamError::NoAddress(name.to_owned()))
        };
        let verifier = Verifier::from_identity(channel("identity")?);
        verifier.spawn_refresher(Duration::from_secs(600), shutdown.clone());
        Ok(Self {
            catalog: CatalogServiceClient::new(channel("catalog")?),
            currency: CurrencyServiceClient::new(channel("currency")?),
            identity: IdentityServiceClient::new(channel("identity")?),
            cart: CartServiceClient::new(channel("cart")?),
            orders: OrdersServiceClient::new(channel("orders")?),
            notification: NotificationServiceClient::new(channel("notification")?),
            recommendation: RecommendationServiceClient::new(channel("recommendation")?),
            all,
            verifier,
            deadlines: config.deadlines(),
        })
    }
}

/// A call to identity: [`call`], and the address of the client the gateway is serving
/// (when it serves one) as `x-forwarded-for`, so identity throttles per shopper. identity
/// believes it from the gateway only.
pub fn call_for_client<T>(
    message: T,
    deadline: Duration,
    token: Option<&str>,
) -> tonic::Request<T> {
    let mut request = call(message, deadline, token);
    if let Some(client) = crate::front_door::current_client()
        && let Ok(value) = MetadataValue::try_from(client.to_string())
    {
        request
            .metadata_mut()
            .insert(crate::front_door::X_FORWARDED_FOR, value);
    }
    request
}

/// A request with a deadline and, when given, the shopper's access token.
pub fn call<T>(message: T, deadline: Duration, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    if let Some(token) = token
        && let Ok(value) = MetadataValue::try_from(format!("Bearer {token}"))
    {
        request
            .metadata_mut()
            .insert(chassis::auth::AUTHORIZATION, value);
    }
    request
}
