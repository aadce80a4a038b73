//! In-process stand-ins for the services orders calls, each a small implementation of the
//! generated server trait with shared state the tests inspect and switches that inject
//! faults (down, declining, out of stock, failing N times). They follow the contracts as far
//! as checkout uses them: idempotency on request ids, error reasons and details.

pub mod cart;
pub mod catalog;
pub mod currency;
pub mod inventory;
pub mod payment;
pub mod shipping;

use std::sync::{Arc, Mutex, MutexGuard};

use chassis::auth::Verifier;
use chassis::{Server, ServerArgs, Shutdown};

/// Shared, lockable state of a double.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Shared<T> {
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap()
    }
}

/// Every double, served on port 0, and where.
pub struct Doubles {
    pub cart: cart::CartDouble,
    pub catalog: catalog::CatalogDouble,
    pub currency: currency::CurrencyDouble,
    pub inventory: inventory::InventoryDouble,
    pub payment: payment::PaymentDouble,
    pub shipping: shipping::ShippingDouble,
    /// cart, catalog, currency, inventory, payment, shipping.
    pub addresses: [String; 6],
    shutdown: Shutdown,
}

impl Doubles {
    /// Starts every double; the cart checks tokens with `verifier`.
    pub async fn start(data_dir: &std::path::Path, verifier: Verifier) -> Self {
        use bazaar_contract::cart::v1::cart_service_server::CartServiceServer;
        use bazaar_contract::catalog::v1::catalog_service_server::CatalogServiceServer;
        use bazaar_contract::currency::v1::currency_service_server::CurrencyServiceServer;
        use bazaar_contract::inventory::v1::inventory_service_server::InventoryServiceServer;
        use bazaar_contract::payment::v1::payment_service_server::PaymentServiceServer;
        use bazaar_contract::shipping::v1::shipping_service_server::ShippingServiceServer;

        let args = ServerArgs::for_tests(data_dir);
        let shutdown = Shutdown::new();
        let cart = cart::CartDouble::default();
        let catalog = catalog::CatalogDouble::default();
        let currency = currency::CurrencyDouble::default();
        let inventory = inventory::InventoryDouble::default();
        let payment = payment::PaymentDouble::default();
        let shipping = shipping::ShippingDouble::default();
        let servers = vec![
            Server::bind("cart", &args, 0)
                .await
                .unwrap()
                .with_auth(verifier)
                .add_service(CartServiceServer::new(cart.clone())),
            Server::bind("catalog", &args, 0)
                .await
                .unwrap()
                .add_service(CatalogServiceServer::new(catalog.clone())),
            Server::bind("currency", &args, 0)
                .await
                .unwrap()
                .add_service(CurrencyServiceServer::new(currency.clone())),
            Server::bind("inventory", &args, 0)
                .await
                .unwrap()
                .add_service(InventoryServiceServer::new(inventory.clone())),
            Server::bind("payment", &args, 0)
                .await
                .unwrap()
                .add_service(PaymentServiceServer::new(payment.clone())),
            Server::bind("shipping", &args, 0)
                .await
                .unwrap()
                .add_service(ShippingServiceServer::new(shipping.clone())),
        ];
        let addresses: Vec<String> = servers.iter().map(|s| s.local_addr().to_string()).collect();
        for server in servers {
            let stop = shutdown.clone();
            tokio::spawn(async move { server.serve(stop).await.unwrap() });
        }
        Self {
            cart,
            catalog,
            currency,
            inventory,
            payment,
            shipping,
            addresses: addresses.try_into().unwrap(),
            shutdown,
        }
    }

    pub fn stop(&self) {
        self.shutdown.trigger();
    }
}

/// `UNAVAILABLE`, as a service that is down answers.
pub fn down() -> tonic::Status {
    tonic::Status::unavailable("test double switched off")
}

/// Money from a decimal text in `currency`: "19.99".
pub fn money(currency: &str, text: &str) -> bazaar_contract::types::v1::Money {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<9}");
    bazaar_contract::types::v1::Money {
        currency_code: currency.to_owned(),
        units: units.parse().unwrap(),
        nanos: fraction.parse().unwrap(),
    }
}
