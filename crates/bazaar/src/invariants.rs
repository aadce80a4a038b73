//! The invariants of checkout (DESIGN.md, "Checkout"), checked through the contract only,
//! after any run, however many faults it met: what `bazaar load --check` and the checkout
//! tests ask once the shop has been hammered, killed and starved.
//!
//! Whoever drives the shop records in a [`Ledger`] what it knows for sure: the shoppers it
//! made (their session tokens), the stock it added and what stood on the shelves before, and
//! each order `PlaceOrder` acknowledged. [`check`] then reads back, through the same public
//! RPCs any client has (with the operator's certificate where the ledger of payment is
//! read), and reports every breach as one sentence with the ids involved:
//!
//! 1. **settled**: within `settle`, no order of any shopper is PENDING any more;
//! 2. **nothing acknowledged is lost**: each acknowledged order is still there for its
//!    owner, PLACED or FAILED;
//! 3. **every order accounted**: not only the acknowledged ones: each shopper's `ListOrders`
//!    also finds orders that were placed but whose answer was lost to a fault, and they are
//!    held to the same rules;
//! 4. **one charge per order**: at most one charge of an order went through (SUCCEEDED, or
//!    SUCCEEDED then REFUNDED);
//! 5. **a placed order is paid, once, exactly**: it has exactly one live (SUCCEEDED) charge,
//!    the one it names, equal to its total, and a shipment;
//! 6. **a failed order costs nothing**: every charge of it that went through was refunded;
//! 7. **stock is conserved and never negative**: for each product the ledger stocked, what
//!    stood before plus what was added minus the units of PLACED orders is what is available
//!    now;
//! 8. **nothing left reserved** once every saga has ended (a failed saga releases its
//!    reservation just after marking the order, an abandoned one expires: both within
//!    `settle`).
//!
//! The checker never trusts the ledger for more than it knows: orders of other callers and
//! charges of orders that are not the shoppers' are not its business, nor is stock of
//! products it never stocked (whoever else sells them would make conservation meaningless).
//! It never changes anything in the shop. Reads that fail for a transient reason (a service
//! being restarted after a kill, a fault still being injected) are retried for a while; a
//! read that never succeeds is itself reported, so that a check that could not look never
//! passes.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use bazaar_contract::identity::v1::RefreshSessionRequest;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::{BatchGetStockRequest, Stock};
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, ListOrdersRequest, Order, OrderState};
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::{Charge, ChargeStatus, ListChargesRequest};
use bazaar_contract::types::v1::Money;
use chassis::tls::Tls;
use chassis::topology::{IDENTITY, INVENTORY, ORDERS, PAYMENT, Spec};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// How long one read may take before it counts as failed (and is tried again).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read is retried while it fails for a transient reason.
const READ_PATIENCE: Duration = Duration::from_secs(30);
/// The pause between two looks at orders still PENDING or stock still reserved.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// The largest page `ListOrders` and `ListCharges` give, and the most ids `BatchGetStock`
/// takes.
const PAGE: usize = 100;

/// Which shopper of a [`Ledger`]: its place in the order [`Ledger::shopper`] was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShopperId(usize);

impl fmt::Display for ShopperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shopper {}", self.0)
    }
}

/// What a run did that the invariants are about. See the [module](self) docs.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Each shopper's session, in the order they were made.
    shoppers: Vec<Session>,
    /// Stock of the products the run put on the shelves.
    stocked: BTreeMap<String, Stocked>,
    /// Orders `PlaceOrder` acknowledged, with their owner.
    acknowledged: Vec<(ShopperId, String)>,
}

/// A shopper's session: the token its calls carry, and the one that renews it.
#[derive(Clone, Debug)]
struct Session {
    access_token: String,
    /// Empty when the session cannot be renewed.
    refresh_token: String,
}

/// What stood on a product's shelf before the run, and what the run added.
#[derive(Clone, Copy, Debug)]
struct Stocked {
    available_before: i64,
    added: i64,
}

impl Ledger {
    /// Records a shopper by its session (`Session.access_token` and `refresh_token`; an
    /// empty refresh token means the session is never renewed) and names it.
    pub fn shopper(&mut self, access_token: String, refresh_token: String) -> ShopperId {
        self.shoppers.push(Session {
            access_token,
            refresh_token,
        });
        ShopperId(self.shoppers.len() - 1)
    }

    /// Records that `added` units of `product_id` were stocked when `available_before`
    /// were available. For a product stocked more than once, the first `available_before`
    /// counts and the additions add up: nothing may sell it between the first read and the
    /// end of the run but the ledger's shoppers.
    pub fn stocked(&mut self, product_id: &str, available_before: i64, added: i64) {
        self.stocked
            .entry(product_id.to_owned())
            .and_modify(|s| s.added += added)
            .or_insert(Stocked {
                available_before,
                added,
            });
    }

    /// Records that `PlaceOrder` acknowledged `order_id` to `shopper` (answered it, in any
    /// state).
    pub fn acknowledged(&mut self, shopper: ShopperId, order_id: String) {
        self.acknowledged.push((shopper, order_id));
    }
}

/// The clients [`check`] reads the shop with: identity (to renew sessions), orders (as each
/// shopper), payment (its ledger, as the operator) and inventory.
#[derive(Clone, Debug)]
pub struct Clients {
    identity: IdentityServiceClient<Channel>,
    inventory: InventoryServiceClient<Channel>,
    orders: OrdersServiceClient<Channel>,
    payment: PaymentServiceClient<Channel>,
}

impl Clients {
    /// Clients of the shop whose services listen on `host` at the ports of the service
    /// table (`BAZAAR_<NAME>_ADDR` overrides one, as for `bazaar status`), verified with
    /// `<data_dir>/pki/ca.crt` and presenting the operator's certificate from there; in
    /// plaintext when `plaintext`. Connects on first use, so a service still down now is no
    /// error.
    ///
    /// # Errors
    ///
    /// When the PKI's files cannot be read, or an address is not one.
    pub async fn connect(host: &str, data_dir: &Path, plaintext: bool) -> Result<Clients, String> {
        let tls = if plaintext {
            Tls::Plaintext
        } else {
            let pki = chassis::pki::Pki::at(data_dir.join("pki"));
            let cert = pki.cert(chassis::pki::OPERATOR);
            let key = pki.key(chassis::pki::OPERATOR);
            Tls::client(&pki.ca_cert(), Some((&cert, &key))).map_err(|error| {
                format!("the operator's TLS from {}: {error}", pki.dir().display())
            })?
        };
        let channel = |spec: &Spec| -> Result<Channel, String> {
            let address = address_of(host, spec);
            let endpoint = tls
                .endpoint(&address)
                .map_err(|error| format!("{} at {address:?}: {error}", spec.name))?;
            Ok(endpoint
                .connect_timeout(CALL_TIMEOUT)
                .timeout(CALL_TIMEOUT)
                .connect_lazy())
        };
        Ok(Clients::over(
            channel(&IDENTITY)?,
            channel(&INVENTORY)?,
            channel(&ORDERS)?,
            channel(&PAYMENT)?,
        ))
    }

    /// Clients over channels the caller made (a test shop's): `payment` must present a
    /// certificate its ledger admits (the operator's, or orders'), or the shop be in
    /// plaintext.
    pub fn over(
        identity: Channel,
        inventory: Channel,
        orders: Channel,
        payment: Channel,
    ) -> Clients {
        Clients {
            identity: IdentityServiceClient::new(identity),
            inventory: InventoryServiceClient::new(inventory),
            orders: OrdersServiceClient::new(orders),
            payment: PaymentServiceClient::new(payment),
        }
    }
}

/// Where `spec` listens: the first address of `BAZAAR_<NAME>_ADDR`, or `host` at the
/// table's port.
fn address_of(host: &str, spec: &Spec) -> String {
    let variable = format!("BAZAAR_{}_ADDR", spec.name.to_uppercase());
    std::env::var(variable)
        .ok()
        .and_then(|list| chassis::config::split_addresses(&list).into_iter().next())
        .unwrap_or_else(|| {
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{}", spec.port)
            } else {
                format!("{host}:{}", spec.port)
            }
        })
}

/// What [`check`] found.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Every order of the ledger's shoppers (acknowledged or not).
    pub orders: usize,
    /// Of those, PLACED.
    pub placed: usize,
    /// Of those, FAILED.
    pub failed: usize,
    /// Of those, still PENDING when the check gave up waiting.
    pub pending: usize,
    /// Every invariant that does not hold, and every read that could not be made, one
    /// sentence each; empty when all hold.
    pub violations: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariants: {} orders ({} placed, {} failed, {} pending): ",
            self.orders, self.placed, self.failed, self.pending
        )?;
        if self.violations.is_empty() {
            return write!(f, "every invariant holds");
        }
        write!(f, "{} violation(s)", self.violations.len())?;
        for violation in &self.violations {
            write!(f, "\n  - {violation}")?;
        }
        Ok(())
    }
}

/// Waits up to `settle` for every order of the ledger's shoppers to end, then checks every
/// invariant of the [module](self) docs through `clients`.
pub async fn check(ledger: &Ledger, clients: &Clients, settle: Duration) -> Report {
    let mut checker = Checker {
        clients,
        sessions: ledger.shoppers.clone(),
        violations: Vec::new(),
    };
    let orders = checker.settled_orders(ledger, settle).await;
    let mut report = Report {
        orders: orders.len(),
        placed: 0,
        failed: 0,
        pending: 0,
        violations: Vec::new(),
    };
    for (order, _) in orders.values() {
        match order.state() {
            OrderState::Placed => report.placed += 1,
            OrderState::Failed => report.failed += 1,
            OrderState::Pending => report.pending += 1,
            OrderState::Unspecified => {}
        }
    }
    if let Some(charges) = checker.charges(&orders).await {
        checker.check_payments(&orders, &charges, settle);
    }
    checker.check_stock(ledger, &orders, settle).await;
    report.violations = checker.violations;
    report
}

/// One check under way: the shoppers' sessions (renewed as needed) and what was found.
struct Checker<'a> {
    clients: &'a Clients,
    sessions: Vec<Session>,
    violations: Vec<String>,
}

impl Checker<'_> {
    /// Every order of every shopper, by id, with its owner, once none is PENDING or
    /// `settle` is over; acknowledged orders that are gone are reported.
    async fn settled_orders(
        &mut self,
        ledger: &Ledger,
        settle: Duration,
    ) -> BTreeMap<String, (Order, ShopperId)> {
        let settle_by = Instant::now() + settle;
        let mut orders = BTreeMap::new();
        let mut unreadable = Vec::new();
        // List everything; wait on what is pending; list again, since a PlaceOrder its
        // caller gave up on may have recorded its order meanwhile. The last listing counts.
        loop {
            orders.clear();
            unreadable.clear();
            for index in 0..self.sessions.len() {
                let shopper = ShopperId(index);
                match self.list_orders(shopper).await {
                    Ok(listed) => {
                        for order in listed {
                            orders.insert(order.id.clone(), (order, shopper));
                        }
                    }
                    Err(error) => unreadable.push(format!(
                        "the orders of {shopper} could not be listed: {error}"
                    )),
                }
            }
            let mut pending: Vec<(String, ShopperId)> = orders
                .values()
                .filter(|(order, _)| order.state() == OrderState::Pending)
                .map(|(order, shopper)| (order.id.clone(), *shopper))
                .collect();
            if pending.is_empty() {
                break;
            }
            while !pending.is_empty() && Instant::now() < settle_by {
                tokio::time::sleep(POLL_EVERY).await;
                let mut still = Vec::new();
                for (id, shopper) in pending {
                    match self.get_order(shopper, &id).await {
                        Ok(order) if order.state() == OrderState::Pending => {
                            still.push((id, shopper));
                        }
                        Ok(_) => {}
                        // Reported by the final listing, if it persists.
                        Err(_) => still.push((id, shopper)),
                    }
                }
                pending = still;
            }
            if Instant::now() >= settle_by {
                // One last listing, so that the report shows the orders as they are now.
                if pending.is_empty() {
                    continue;
                }
                for (id, shopper) in &pending {
                    if let Ok(order) = self.get_order(*shopper, id).await {
                        orders.insert(id.clone(), (order, *shopper));
                    }
                }
                break;
            }
        }
        self.violations.append(&mut unreadable);
        for (order, shopper) in orders.values() {
            if order.state() == OrderState::Pending {
                self.violations.push(format!(
                    "order {} of {shopper} is still PENDING after {settle:?}",
                    order.id
                ));
            }
        }

        for (shopper, id) in &ledger.acknowledged {
            if orders.contains_key(id) {
                continue;
            }
            // Not in its owner's list: gone, or the list was incomplete.
            match self.get_order(*shopper, id).await {
                Ok(order) => {
                    orders.insert(id.clone(), (order, *shopper));
                }
                Err(ReadError::Final(status)) if status.code() == Code::NotFound => {
                    self.violations.push(format!(
                        "acknowledged order {id} of {shopper} is lost: GetOrder answers NOT_FOUND ({})",
                        status.message()
                    ));
                }
                Err(error) => self.violations.push(format!(
                    "acknowledged order {id} of {shopper} could not be read: {error}"
                )),
            }
        }
        orders
    }

    /// Every charge payment holds for one of `orders`, by order id; `None` (reported) when
    /// its ledger cannot be read.
    async fn charges(
        &mut self,
        orders: &BTreeMap<String, (Order, ShopperId)>,
    ) -> Option<BTreeMap<String, Vec<Charge>>> {
        let mut by_order: BTreeMap<String, Vec<Charge>> = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let payment = self.clients.payment.clone();
            let page = patiently(|| {
                let mut payment = payment.clone();
                let request = ListChargesRequest {
                    page_size: PAGE as i32,
                    page_token: page_token.clone(),
                    order_id: String::new(),
                };
                async move { payment.list_charges(timed(request)).await }
            })
            .await;
            let page = match page {
                Ok(page) => page.into_inner(),
                Err(error) => {
                    self.violations
                        .push(format!("payment's charges could not be listed: {error}"));
                    return None;
                }
            };
            for charge in page.charges {
                if orders.contains_key(&charge.order_id) {
                    by_order
                        .entry(charge.order_id.clone())
                        .or_default()
                        .push(charge);
                }
            }
            if page.next_page_token.is_empty() {
                return Some(by_order);
            }
            page_token = page.next_page_token;
        }
    }

    /// Invariants 4 to 6: what payment charged and refunded for each order.
    fn check_payments(
        &mut self,
        orders: &BTreeMap<String, (Order, ShopperId)>,
        charges: &BTreeMap<String, Vec<Charge>>,
        settle: Duration,
    ) {
        for (id, (order, shopper)) in orders {
            let of_order = charges.get(id).map(Vec::as_slice).unwrap_or_default();
            let went_through: Vec<&Charge> = of_order
                .iter()
                .filter(|c| matches!(c.status(), ChargeStatus::Succeeded | ChargeStatus::Refunded))
                .collect();
            if went_through.len() > 1 {
                self.violations.push(format!(
                    "order {id} of {shopper} was charged {} times: {}",
                    went_through.len(),
                    describe_charges(&went_through)
                ));
            }
            let live: Vec<&Charge> = went_through
                .iter()
                .copied()
                .filter(|c| c.status() == ChargeStatus::Succeeded)
                .collect();
            match order.state() {
                OrderState::Placed => {
                    let [charge] = live.as_slice() else {
                        self.violations.push(format!(
                            "placed order {id} of {shopper} (total {}) has {} live (SUCCEEDED) charges instead of one: {}",
                            money(order.total.as_ref()),
                            live.len(),
                            describe_charges(&of_order.iter().collect::<Vec<_>>())
                        ));
                        continue;
                    };
                    if order.charge_id != charge.id {
                        self.violations.push(format!(
                            "placed order {id} of {shopper} names charge {:?}, but its live charge is {}",
                            order.charge_id, charge.id
                        ));
                    }
                    if charge.amount != order.total {
                        self.violations.push(format!(
                            "placed order {id} of {shopper} totals {}, but its charge {} is {}",
                            money(order.total.as_ref()),
                            charge.id,
                            money(charge.amount.as_ref())
                        ));
                    }
                    if order.shipment_id.is_empty() {
                        self.violations
                            .push(format!("placed order {id} of {shopper} has no shipment"));
                    }
                }
                OrderState::Failed => {
                    for charge in live {
                        self.violations.push(format!(
                            "failed order {id} of {shopper} kept its charge {} of {}: it was never refunded",
                            charge.id,
                            money(charge.amount.as_ref())
                        ));
                    }
                }
                // Reported already as not settled.
                OrderState::Pending => {}
                OrderState::Unspecified => self.violations.push(format!(
                    "order {id} of {shopper} has no state (still so after {settle:?})"
                )),
            }
        }
    }

    /// Invariants 7 and 8: stock conserved, never negative, nothing left reserved.
    async fn check_stock(
        &mut self,
        ledger: &Ledger,
        orders: &BTreeMap<String, (Order, ShopperId)>,
        settle: Duration,
    ) {
        if ledger.stocked.is_empty() {
            return;
        }
        let mut sold: BTreeMap<&str, i64> = BTreeMap::new();
        for (order, _) in orders.values() {
            if order.state() == OrderState::Placed {
                for item in &order.items {
                    *sold.entry(item.product_id.as_str()).or_default() += i64::from(item.quantity);
                }
            }
        }
        let settle_by = Instant::now() + settle;
        let stocks = loop {
            let stocks = match self.stocks(ledger).await {
                Ok(stocks) => stocks,
                Err(error) => {
                    self.violations
                        .push(format!("inventory's stock could not be read: {error}"));
                    return;
                }
            };
            if stocks.iter().all(|s| s.reserved == 0) || Instant::now() >= settle_by {
                break stocks;
            }
            tokio::time::sleep(POLL_EVERY).await;
        };
        for stock in &stocks {
            let product = &stock.product_id;
            let Some(stocked) = ledger.stocked.get(product) else {
                continue;
            };
            if stock.available < 0 || stock.reserved < 0 {
                self.violations.push(format!(
                    "product {product} has negative stock: {} available, {} reserved",
                    stock.available, stock.reserved
                ));
            }
            if stock.reserved != 0 {
                self.violations.push(format!(
                    "product {product} still has {} units reserved {settle:?} after every saga should have ended",
                    stock.reserved
                ));
                continue;
            }
            let sold = sold.get(product.as_str()).copied().unwrap_or(0);
            let expected = stocked.available_before + stocked.added - sold;
            if stock.available != expected {
                self.violations.push(format!(
                    "product {product}: stock not conserved: {} before + {} added - {sold} sold by placed orders = {expected}, but {} available",
                    stocked.available_before, stocked.added, stock.available
                ));
            }
        }
    }

    /// The stock of every product the ledger stocked.
    async fn stocks(&self, ledger: &Ledger) -> Result<Vec<Stock>, ReadError> {
        let ids: Vec<String> = ledger.stocked.keys().cloned().collect();
        let mut stocks = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PAGE) {
            let inventory = self.clients.inventory.clone();
            let answer = patiently(|| {
                let mut inventory = inventory.clone();
                let request = BatchGetStockRequest {
                    product_ids: chunk.to_vec(),
                };
                async move { inventory.batch_get_stock(timed(request)).await }
            })
            .await?;
            stocks.extend(answer.into_inner().stocks);
        }
        Ok(stocks)
    }

    /// Every order of `shopper`, all pages.
    async fn list_orders(&mut self, shopper: ShopperId) -> Result<Vec<Order>, ReadError> {
        let mut orders = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = ListOrdersRequest {
                page_size: PAGE as i32,
                page_token: page_token.clone(),
            };
            let page = self
                .as_shopper(shopper, request, |mut orders, request| async move {
                    orders.list_orders(request).await
                })
                .await?;
            orders.extend(page.orders);
            if page.next_page_token.is_empty() {
                return Ok(orders);
            }
            page_token = page.next_page_token;
        }
    }

    /// `order_id` as its owner `shopper` reads it.
    async fn get_order(&mut self, shopper: ShopperId, order_id: &str) -> Result<Order, ReadError> {
        let request = GetOrderRequest {
            order_id: order_id.to_owned(),
        };
        let answer = self
            .as_shopper(shopper, request, |mut orders, request| async move {
                orders.get_order(request).await
            })
            .await?;
        answer.order.ok_or_else(|| {
            ReadError::Final(Status::internal(format!(
                "GetOrder of {order_id} answered without the order"
            )))
        })
    }

    /// `call` to orders with `message`, carrying `shopper`'s token; the session is renewed
    /// once when the token is refused (it may have expired during a long run).
    async fn as_shopper<M, T, F, Fut>(
        &mut self,
        shopper: ShopperId,
        message: M,
        call: F,
    ) -> Result<T, ReadError>
    where
        M: Clone,
        F: Fn(OrdersServiceClient<Channel>, Request<M>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let mut renewed = false;
        loop {
            let token = self.sessions[shopper.0].access_token.clone();
            let answer = patiently(|| {
                call(
                    self.clients.orders.clone(),
                    bearing(&token, message.clone()),
                )
            })
            .await;
            match answer {
                Err(ReadError::Final(status))
                    if status.code() == Code::Unauthenticated && !renewed =>
                {
                    renewed = true;
                    self.renew(shopper).await.map_err(|error| {
                        ReadError::Final(Status::unauthenticated(format!(
                            "the token of {shopper} was refused ({}), and renewing it failed: {error}",
                            status.message()
                        )))
                    })?;
                }
                other => return other.map(tonic::Response::into_inner),
            }
        }
    }

    /// A new access token for `shopper`, from its refresh token.
    async fn renew(&mut self, shopper: ShopperId) -> Result<(), ReadError> {
        let refresh_token = self.sessions[shopper.0].refresh_token.clone();
        if refresh_token.is_empty() {
            return Err(ReadError::Final(Status::failed_precondition(
                "the ledger has no refresh token for this shopper",
            )));
        }
        let identity = self.clients.identity.clone();
        let answer = patiently(|| {
            let mut identity = identity.clone();
            let request = RefreshSessionRequest {
                refresh_token: refresh_token.clone(),
            };
            async move { identity.refresh_session(timed(request)).await }
        })
        .await?;
        let session = answer.into_inner().session.ok_or_else(|| {
            ReadError::Final(Status::internal(
                "RefreshSession answered without a session",
            ))
        })?;
        self.sessions[shopper.0].access_token = session.access_token;
        Ok(())
    }
}

/// Why a read failed.
#[derive(Debug)]
enum ReadError {
    /// An answer that trying again would not change.
    Final(Status),
    /// Transient failures until the patience ran out; the last one.
    GaveUp(Status),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Final(status) => {
                write!(f, "{:?}: {}", status.code(), status.message())
            }
            ReadError::GaveUp(status) => write!(
                f,
                "still failing after {READ_PATIENCE:?}: {:?}: {}",
                status.code(),
                status.message()
            ),
        }
    }
}

/// Whether trying a read again may get another answer: the service is restarting, busy,
/// or being made to fail on purpose.
fn transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
    )
}

/// `call`, tried again with a growing pause while it fails transiently, for up to
/// [`READ_PATIENCE`].
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, ReadError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let give_up = Instant::now() + READ_PATIENCE;
    let mut pause = Duration::from_millis(100);
    loop {
        match call().await {
            Ok(answer) => return Ok(answer),
            Err(status) if !transient(status.code()) => return Err(ReadError::Final(status)),
            Err(status) if Instant::now() + pause >= give_up => {
                return Err(ReadError::GaveUp(status));
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// `message` as a request with the check's deadline.
fn timed<M>(message: M) -> Request<M> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// `message` as a request with the check's deadline, carrying `token`.
fn bearing<M>(token: &str, message: M) -> Request<M> {
    let mut request = timed(message);
    // A token that is not printable ASCII goes without: the service then says it is
    // missing, which is what it would say to such a token.
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {token}")) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// `12.340000000 USD`, or `nothing` when the amount is missing.
fn money(amount: Option<&Money>) -> String {
    let Some(money) = amount else {
        return "nothing".to_owned();
    };
    let nanos = i128::from(money.units) * 1_000_000_000 + i128::from(money.nanos);
    let sign = if nanos < 0 { "-" } else { "" };
    let nanos = nanos.unsigned_abs();
    format!(
        "{sign}{}.{:09} {}",
        nanos / 1_000_000_000,
        nanos % 1_000_000_000,
        money.currency_code
    )
}

/// Charges as `id (STATUS, amount)`, comma-separated; `none` for none.
fn describe_charges(charges: &[&Charge]) -> String {
    if charges.is_empty() {
        return "none".to_owned();
    }
    charges
        .iter()
        .map(|c| {
            format!(
                "{} ({}, {})",
                c.id,
                c.status().as_str_name(),
                money(c.amount.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_stock_level_counts_and_additions_add_up() {
        let mut ledger = Ledger::default();
        ledger.stocked("brass-desk-lamp", 7, 10);
        ledger.stocked("brass-desk-lamp", 15, 5);
        let stocked = ledger.stocked["brass-desk-lamp"];
        assert_eq!((stocked.available_before, stocked.added), (7, 15));
    }

    #[test]
    fn shoppers_are_named_in_the_order_they_come() {
        let mut ledger = Ledger::default();
        let ada = ledger.shopper("a".to_owned(), String::new());
        let bob = ledger.shopper("b".to_owned(), "r".to_owned());
        assert_eq!((ada, bob), (ShopperId(0), ShopperId(1)));
        assert_eq!(bob.to_string(), "shopper 1");
    }

    #[test]
    fn amounts_read_as_decimals() {
        let money_of = |units, nanos| Money {
            currency_code: "EUR".to_owned(),
            units,
            nanos,
        };
        assert_eq!(money(Some(&money_of(12, 340_000_000))), "12.340000000 EUR");
        assert_eq!(money(Some(&money_of(-1, -500_000_000))), "-1.500000000 EUR");
        assert_eq!(money(None), "nothing");
    }

    #[test]
    fn a_report_lists_every_violation() {
        let report = Report {
            orders: 3,
            placed: 2,
            failed: 1,
            pending: 0,
            violations: vec!["one".to_owned(), "two".to_owned()],
        };
        assert_eq!(
            report.to_string(),
            "invariants: 3 orders (2 placed, 1 failed, 0 pending): 2 violation(s)\n  - one\n  - two"
        );
    }
}
