//! One helper that starts the real payment service on port 0 with a temporary store and
//! a clock the test controls, and the small tools the black-box tests share.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::*;
use bazaar_contract::types::v1::Money;
use chassis::Shutdown;
use payment::clock::ManualClock;
use payment::{Config, Payment};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

pub type Client = PaymentServiceClient<Channel>;

/// A payment service running on port 0, with the clock it reads (set to 15 June 2030).
pub struct Running {
    pub client: Client,
    pub channel: Channel,
    pub clock: ManualClock,
    pub database_url: String,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        let config = Config::for_tests(data_dir, database_url);
        let clock = payment::clock::at_date(2030, 6, 15);
        let server = chassis::Bound::<Payment>::bind_with(
            &config,
            &chassis::service::Overrides::default().clock(Arc::new(clock.clone())),
        )
        .await
        .expect("payment binds");
        let address = server.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            server.run(stop).await.expect("payment runs");
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .expect("connects");
        Self {
            client: PaymentServiceClient::new(channel.clone()),
            channel,
            clock,
            database_url: config.database_url(),
            shutdown,
            task,
        }
    }

    pub async fn health(&self) -> ServingStatus {
        let response = HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: "bazaar.payment.v1.PaymentService".to_owned(),
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
        panic!("payment never became SERVING");
    }

    /// What the service's clock says, in milliseconds since the Unix epoch.
    pub fn clock_now_ms(&self) -> i64 {
        use payment::clock::Clock;
        self.clock.now_ms()
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("payment task ends cleanly");
    }
}

/// Money in `code`.
pub fn money(code: &str, units: i64, nanos: i32) -> Money {
    Money {
        currency_code: code.to_owned(),
        units,
        nanos,
    }
}

/// A card expiring in December 2031, with a CVV of the right length for its brand.
pub fn card(number: &str) -> Card {
    let amex = number.starts_with("34") || number.starts_with("37");
    Card {
        number: number.to_owned(),
        expiry_month: 12,
        expiry_year: 2031,
        cvv: if amex { "1234" } else { "123" }.to_owned(),
        holder_name: "Ada Lovelace".to_owned(),
    }
}

/// A Charge of 25.50 USD with `card_number`.
pub fn charge_request(request_id: &str, order_id: &str, card_number: &str) -> ChargeRequest {
    ChargeRequest {
        request_id: request_id.to_owned(),
        order_id: order_id.to_owned(),
        amount: Some(money("USD", 25, 500_000_000)),
        card: Some(card(card_number)),
    }
}

pub async fn charge(client: &mut Client, request: ChargeRequest) -> Result<Charge, tonic::Status> {
    client
        .charge(request)
        .await
        .map(|r| r.into_inner().charge.expect("a charge"))
}

pub async fn refund(
    client: &mut Client,
    request_id: &str,
    charge_id: &str,
) -> Result<Charge, tonic::Status> {
    client
        .refund(RefundRequest {
            request_id: request_id.to_owned(),
            charge_id: charge_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().charge.expect("a charge"))
}

pub async fn get(client: &mut Client, charge_id: &str) -> Result<Charge, tonic::Status> {
    client
        .get_charge(GetChargeRequest {
            charge_id: charge_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().charge.expect("a charge"))
}

/// Every charge of `order_id` (or of the whole ledger), page after page of `page_size`.
pub async fn list_all(client: &mut Client, order_id: &str, page_size: i32) -> Vec<Charge> {
    let mut charges = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_charges(ListChargesRequest {
                page_size,
                page_token: token,
                order_id: order_id.to_owned(),
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.charges.len() <= page_size.max(1) as usize);
        charges.extend(page.charges);
        if page.next_page_token.is_empty() {
            return charges;
        }
        token = page.next_page_token;
    }
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

/// Asserts `code` with an `ErrorInfo` of domain bazaar.payment and `reason`; returns its
/// metadata.
pub fn assert_reason(status: &tonic::Status, code: Code, reason: &str) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    assert_eq!(info.domain, "bazaar.payment");
    assert_eq!(info.reason, reason);
    info.metadata
}
