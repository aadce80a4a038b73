//! The real shipping service on port 0 with a temporary store and a clock the test
//! controls, started by the chassis's test harness, and the small tools the black-box tests
//! share.

use std::collections::HashMap;
use std::sync::Arc;

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::{Address, Money};
use chassis::testing::{Overrides, Spawned};
use shipping::clock::{Clock, ManualClock};
use shipping::{Config, Shipping};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

pub(crate) type Client = ShippingServiceClient<Channel>;

/// A shipping service running on port 0, with the clock it reads.
pub(crate) struct Running {
    pub client: Client,
    pub clock: ManualClock,
    server: Spawned<Shipping>,
}

impl Running {
    /// Starts it on `database_url` (SQLite in `data_dir` when `None`), without waiting until
    /// it serves.
    pub(crate) async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        let config = Config::for_tests(data_dir, database_url);
        // 2030-06-15T12:00:00.250Z
        let clock = ManualClock::at(1_907_755_200_250);
        let server = chassis::testing::start::<Shipping>(
            &config,
            &Overrides::default().clock(Arc::new(clock.clone())),
        )
        .await
        .expect("shipping starts");
        Self {
            client: ShippingServiceClient::new(server.channel()),
            clock,
            server,
        }
    }

    /// The health of the shipping service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server
            .health("bazaar.shipping.v1.ShippingService")
            .await
    }

    /// Waits until it answers SERVING.
    pub(crate) async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// What the service's clock says, as a protobuf timestamp.
    pub(crate) fn now(&self) -> prost_types::Timestamp {
        let ms = self.clock.now_ms();
        prost_types::Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
        }
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("shipping stops cleanly");
    }
}

/// A complete address in `country_code`.
pub(crate) fn address(country_code: &str) -> Address {
    Address {
        recipient_name: "Ada Lovelace".to_owned(),
        street_lines: vec!["12 Analytical Row".to_owned(), "Flat 3".to_owned()],
        city: "London".to_owned(),
        region: String::new(),
        postal_code: "W1 2AB".to_owned(),
        country_code: country_code.to_owned(),
    }
}

/// Items of `quantities`, products `p0`, `p1`, ...
pub(crate) fn items(quantities: &[i32]) -> Vec<ShipmentItem> {
    quantities
        .iter()
        .enumerate()
        .map(|(i, &quantity)| ShipmentItem {
            product_id: format!("p{i}"),
            quantity,
        })
        .collect()
}

pub(crate) fn usd(units: i64, nanos: i32) -> Money {
    Money {
        currency_code: "USD".to_owned(),
        units,
        nanos,
    }
}

pub(crate) async fn quote(
    client: &mut Client,
    address: Option<Address>,
    items: Vec<ShipmentItem>,
) -> Result<Quote, tonic::Status> {
    client
        .get_quote(GetQuoteRequest { address, items })
        .await
        .map(|r| r.into_inner().quote.expect("a quote"))
}

/// A CreateShipment of 2 units to the United States.
pub(crate) fn create_request(request_id: &str, order_id: &str) -> CreateShipmentRequest {
    CreateShipmentRequest {
        request_id: request_id.to_owned(),
        order_id: order_id.to_owned(),
        address: Some(address("US")),
        items: items(&[1, 1]),
    }
}

pub(crate) async fn create(
    client: &mut Client,
    request: CreateShipmentRequest,
) -> Result<Shipment, tonic::Status> {
    client
        .create_shipment(request)
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

pub(crate) async fn cancel(
    client: &mut Client,
    shipment_id: &str,
) -> Result<Shipment, tonic::Status> {
    client
        .cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

pub(crate) async fn get(client: &mut Client, shipment_id: &str) -> Result<Shipment, tonic::Status> {
    client
        .get_shipment(GetShipmentRequest {
            shipment_id: shipment_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

/// Asserts `code` with an `ErrorInfo` of domain bazaar.shipping and `reason`; returns its
/// metadata.
pub(crate) fn assert_reason(
    status: &tonic::Status,
    code: Code,
    reason: &str,
) -> HashMap<String, String> {
    chassis::testing::assert_reason(status, code, "bazaar.shipping", reason)
}
