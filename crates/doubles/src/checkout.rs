//! Every service a checkout calls, as doubles served together on port 0: what orders'
//! tests start before they start orders, and the addresses to give it.

use chassis::auth::Verifier;
use chassis::{Server, ServerArgs, Shutdown};

use crate::{cart, catalog, currency, inventory, payment, shipping};

/// Every double, served on port 0, and where.
pub struct Doubles {
    /// Checks tokens with the verifier given to [`Doubles::start`]; carts start empty.
    pub cart: cart::CartDouble,
    /// Its default products: lamp, mug and rug, priced in USD.
    pub catalog: catalog::CatalogDouble,
    /// USD, EUR and JPY at fixed rates.
    pub currency: currency::CurrencyDouble,
    /// No stock until a test calls [`inventory::InventoryDouble::stock`].
    pub inventory: inventory::InventoryDouble,
    /// Declines [`payment::DECLINED_CARD`], charges any other card.
    pub payment: payment::PaymentDouble,
    /// Quotes by the contract's formula and creates shipments.
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

    /// Stops every double (without waiting for their calls to drain).
    pub fn stop(&self) {
        self.shutdown.trigger();
    }
}
