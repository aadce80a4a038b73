//! The real payment service on port 0 with a temporary store and a clock the test controls,
//! started by the chassis's test harness, and the small tools the black-box tests share.

use std::collections::HashMap;
use std::sync::Arc;

use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::*;
use bazaar_contract::types::v1::Money;
use chassis::testing::{Overrides, Spawned};
use payment::clock::ManualClock;
use payment::{Config, Payment};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

pub(crate) type Client = PaymentServiceClient<Channel>;

/// A payment service running on port 0, with the clock it reads (set to 15 June 2030).
pub(crate) struct Running {
    pub client: Client,
    pub clock: ManualClock,
    pub database_url: String,
    server: Spawned<Payment>,
}

impl Running {
    /// Starts it on `database_url` (SQLite in `data_dir` when `None`), without waiting until
    /// it serves.
    pub(crate) async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        let config = Config::for_tests(data_dir, database_url);
        let clock = payment::clock::at_date(2030, 6, 15);
        let server = chassis::testing::start::<Payment>(
            &config,
            &Overrides::default().clock(Arc::new(clock.clone())),
        )
        .await
        .expect("payment starts");
        Self {
            client: PaymentServiceClient::new(server.channel()),
            clock,
            database_url: config.database_url(),
            server,
        }
    }

    /// The health of the payment service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server.health("bazaar.payment.v1.PaymentService").await
    }

    /// Waits until it answers SERVING.
    pub(crate) async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// What the service's clock says, in milliseconds since the Unix epoch.
    pub(crate) fn clock_now_ms(&self) -> i64 {
        use payment::clock::Clock;
        self.clock.now_ms()
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("payment stops cleanly");
    }
}

/// Money in `code`.
pub(crate) fn money(code: &str, units: i64, nanos: i32) -> Money {
    Money {
        currency_code: code.to_owned(),
        units,
        nanos,
    }
}

/// A card expiring in December 2031, with a CVV of the right length for its brand.
pub(crate) fn card(number: &str) -> Card {
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
pub(crate) fn charge_request(request_id: &str, order_id: &str, card_number: &str) -> ChargeRequest {
    ChargeRequest {
        request_id: request_id.to_owned(),
        order_id: order_id.to_owned(),
        amount: Some(money("USD", 25, 500_000_000)),
        card: Some(card(card_number)),
    }
}

pub(crate) async fn charge(
    client: &mut Client,
    request: ChargeRequest,
) -> Result<Charge, tonic::Status> {
    client
        .charge(request)
        .await
        .map(|r| r.into_inner().charge.expect("a charge"))
}

pub(crate) async fn refund(
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

pub(crate) async fn get(client: &mut Client, charge_id: &str) -> Result<Charge, tonic::Status> {
    client
        .get_charge(GetChargeRequest {
            charge_id: charge_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().charge.expect("a charge"))
}

/// Every charge of `order_id` (or of the whole ledger), page after page of `page_size`.
pub(crate) async fn list_all(client: &mut Client, order_id: &str, page_size: i32) -> Vec<Charge> {
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

/// Asserts `code` with an `ErrorInfo` of domain bazaar.payment and `reason`; returns its
/// metadata.
pub(crate) fn assert_reason(
    status: &tonic::Status,
    code: Code,
    reason: &str,
) -> HashMap<String, String> {
    chassis::testing::assert_reason(status, code, "bazaar.payment", reason)
}
