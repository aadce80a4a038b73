//! One helper that starts the real shipping service on port 0 with a temporary store and
//! a clock the test controls, and the small tools the black-box tests share.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::{Address, Money};
use chassis::Shutdown;
use shipping::clock::{Clock, ManualClock};
use shipping::{Config, Shipping};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

pub type Client = ShippingServiceClient<Channel>;

/// A shipping service running on port 0, with the clock it reads.
pub struct Running {
    pub client: Client,
    pub channel: Channel,
    pub clock: ManualClock,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        let config = Config::for_tests(data_dir, database_url);
        // 2030-06-15T12:00:00.250Z
        let clock = ManualClock::at(1_907_755_200_250);
        let server = chassis::Bound::<Shipping>::bind_with(
            &config,
            &chassis::service::Overrides::default().clock(Arc::new(clock.clone())),
        )
        .await
        .expect("shipping binds");
        let address = server.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            server.run(stop).await.expect("shipping runs");
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .expect("connects");
        Self {
            client: ShippingServiceClient::new(channel.clone()),
            channel,
            clock,
            shutdown,
            task,
        }
    }

    pub async fn health(&self) -> ServingStatus {
        let response = HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: "bazaar.shipping.v1.ShippingService".to_owned(),
            })
            .await
            .expect("health answers");
        ServingStatus::try_from(response.into_inner().status).expect("known status")
    }

    pub async fn wait_until_serving(&self) {
        for _ in 0..200 {
            if self.health().await == ServingStatus::Serving {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("shipping never became SERVING");
    }

    /// What the service's clock says, as a protobuf timestamp.
    pub fn now(&self) -> prost_types::Timestamp {
        let ms = self.clock.now_ms();
        prost_types::Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
        }
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("shipping task ends cleanly");
    }
}

/// A complete address in `country_code`.
pub fn address(country_code: &str) -> Address {
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
pub fn items(quantities: &[i32]) -> Vec<ShipmentItem> {
    quantities
        .iter()
        .enumerate()
        .map(|(i, &quantity)| ShipmentItem {
            product_id: format!("p{i}"),
            quantity,
        })
        .collect()
}

pub fn usd(units: i64, nanos: i32) -> Money {
    Money {
        currency_code: "USD".to_owned(),
        units,
        nanos,
    }
}

pub async fn quote(
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
pub fn create_request(request_id: &str, order_id: &str) -> CreateShipmentRequest {
    CreateShipmentRequest {
        request_id: request_id.to_owned(),
        order_id: order_id.to_owned(),
        address: Some(address("US")),
        items: items(&[1, 1]),
    }
}

pub async fn create(
    client: &mut Client,
    request: CreateShipmentRequest,
) -> Result<Shipment, tonic::Status> {
    client
        .create_shipment(request)
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

pub async fn cancel(client: &mut Client, shipment_id: &str) -> Result<Shipment, tonic::Status> {
    client
        .cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

pub async fn get(client: &mut Client, shipment_id: &str) -> Result<Shipment, tonic::Status> {
    client
        .get_shipment(GetShipmentRequest {
            shipment_id: shipment_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().shipment.expect("a shipment"))
}

/// The field paths of a status's `BadRequest` detail.
pub fn field_violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Asserts `INVALID_ARGUMENT` naming exactly `fields`.
pub fn assert_invalid(result: Result<impl std::fmt::Debug, tonic::Status>, fields: &[&str]) {
    let status = result.expect_err("INVALID_ARGUMENT expected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(field_violations(&status), fields, "{status:?}");
}

/// Asserts `code` with an `ErrorInfo` of domain bazaar.shipping and `reason`; returns its
/// metadata.
pub fn assert_reason(status: &tonic::Status, code: Code, reason: &str) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    assert_eq!(info.domain, "bazaar.shipping");
    assert_eq!(info.reason, reason);
    info.metadata
}
