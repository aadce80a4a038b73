//! The checkout invariants after a load run, checked through the contract only.
//!
//! A run keeps a [`Ledger`] of what it did: its shoppers' sessions, the stock it added and
//! every order the shop acknowledged. [`check`] then asks the shop, as those shoppers,
//! about each acknowledged order: it must exist (no acknowledged order lost) and, once
//! the sagas have had `settle` to finish, be PLACED or FAILED (none left PENDING).

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, OrderState};
use chassis::tls::Tls;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// What a run did, as the check needs it.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Access and refresh token of each shopper (the refresh token is for runs longer
    /// than an access token lives, which this check does not yet cover).
    shoppers: Vec<(String, String)>,
    /// Each product's stock before the run and what was added; the stock check is not
    /// part of this version.
    #[allow(dead_code)]
    stock: Vec<(String, i64, i64)>,
    orders: Vec<(ShopperId, String)>,
}

/// A shopper of the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShopperId(usize);

impl Ledger {
    /// A shopper with this session.
    pub fn shopper(&mut self, access_token: String, refresh_token: String) -> ShopperId {
        self.shoppers.push((access_token, refresh_token));
        ShopperId(self.shoppers.len() - 1)
    }

    /// `added` units of `product_id` put on the shelves when `available_before` were.
    pub fn stocked(&mut self, product_id: &str, available_before: i64, added: i64) {
        self.stock
            .push((product_id.to_owned(), available_before, added));
    }

    /// The shop acknowledged order `order_id` of `shopper`.
    pub fn acknowledged(&mut self, shopper: ShopperId, order_id: String) {
        self.orders.push((shopper, order_id));
    }
}

/// The connections the check asks through.
#[derive(Debug)]
pub struct Clients {
    orders: Channel,
}

impl Clients {
    /// Connects (lazily) to orders on `host`, or at `BAZAAR_ORDERS_ADDR`, verified with
    /// the CA of `data_dir`, or in plaintext.
    ///
    /// # Errors
    ///
    /// When the CA cannot be read or the address is not one.
    pub async fn connect(host: &str, data_dir: &Path, plaintext: bool) -> Result<Self, String> {
        let tls = if plaintext {
            Tls::Plaintext
        } else {
            let ca = chassis::pki::Pki::at(data_dir.join("pki")).ca_cert();
            Tls::client(&ca, None).map_err(|e| e.to_string())?
        };
        let address = std::env::var("BAZAAR_ORDERS_ADDR")
            .ok()
            .and_then(|list| chassis::config::split_addresses(&list).into_iter().next())
            .unwrap_or_else(|| format!("{host}:{}", chassis::topology::ORDERS.port));
        let orders = tls
            .endpoint(&address)
            .map_err(|e| format!("orders at {address}: {e}"))?
            .connect_lazy();
        Ok(Self { orders })
    }
}

/// What the check found.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Orders acknowledged during the run.
    pub orders: usize,
    /// Of which PLACED.
    pub placed: usize,
    /// FAILED.
    pub failed: usize,
    /// Still PENDING after the settle time.
    pub pending: usize,
    /// Every broken invariant, one sentence each.
    pub violations: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "check: {} orders acknowledged: {} placed, {} failed, {} pending; ",
            self.orders, self.placed, self.failed, self.pending
        )?;
        if self.violations.is_empty() {
            write!(f, "every invariant holds")
        } else {
            write!(f, "{} violations:", self.violations.len())?;
            for violation in &self.violations {
                write!(f, "\n  {violation}")?;
            }
            Ok(())
        }
    }
}

/// Checks every acknowledged order of `ledger`, waiting up to `settle` for PENDING ones.
pub async fn check(ledger: &Ledger, clients: &Clients, settle: Duration) -> Report {
    let until = Instant::now() + settle;
    let mut report = Report {
        orders: ledger.orders.len(),
        placed: 0,
        failed: 0,
        pending: 0,
        violations: Vec::new(),
    };
    let mut client = OrdersServiceClient::new(clients.orders.clone());
    for (shopper, order_id) in &ledger.orders {
        let token = &ledger.shoppers[shopper.0].0;
        loop {
            let mut request = tonic::Request::new(GetOrderRequest {
                order_id: order_id.clone(),
            });
            request.set_timeout(Duration::from_secs(5));
            match MetadataValue::try_from(format!("Bearer {token}")) {
                Ok(value) => {
                    request.metadata_mut().insert("authorization", value);
                }
                Err(_) => {
                    report.violations.push(format!(
                        "order {order_id}: its shopper's token is not ASCII"
                    ));
                    break;
                }
            }
            let state = match client.get_order(request).await {
                Ok(response) => response.into_inner().order.map(|order| order.state()),
                Err(status) if status.code() == tonic::Code::NotFound => {
                    report
                        .violations
                        .push(format!("order {order_id} was acknowledged and is lost"));
                    break;
                }
                Err(status) if Instant::now() >= until => {
                    report.violations.push(format!(
                        "order {order_id} could not be read: {:?} {}",
                        status.code(),
                        status.message()
                    ));
                    break;
                }
                Err(_) => None,
            };
            match state {
                Some(OrderState::Placed) => report.placed += 1,
                Some(OrderState::Failed) => report.failed += 1,
                _ if Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                _ => {
                    report.pending += 1;
                    report.violations.push(format!(
                        "order {order_id} is still PENDING after {settle:?}"
                    ));
                }
            }
            break;
        }
    }
    report
}
