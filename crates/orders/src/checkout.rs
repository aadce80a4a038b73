//! PlaceOrder up to the moment the order is recorded, then the hand-over to the saga.
//!
//! 1. Claim the request id (per caller) in the store: a retry of a recorded checkout gets
//!    its order, a concurrent call with the same id while the first is still pricing gets
//!    ABORTED, the same id with other parameters gets ALREADY_EXISTS.
//! 2. Read the caller's cart (with the caller's token, carried by the chassis) and price it
//!    ([`crate::pricing`]). A failure here records nothing and frees the claim, so a retry
//!    with the same id tries again (it returns the same error while nothing changed).
//!    Refused before anything is priced or reserved: a caller who already has
//!    `--max-pending-per-caller` PENDING orders (RESOURCE_EXHAUSTED), and, once priced, an
//!    order whose total is more than one charge may take ([`MAX_CHARGE_USD_UNITS`]).
//! 3. Record the order PENDING, bound to the request id, leased to this process; start its
//!    saga ([`crate::saga`]) in the background; wait for it, within the call's deadline, and
//!    answer with the order as it then is: PLACED, FAILED or still PENDING.

use std::time::Duration;

use bazaar_contract::cart::v1::GetCartRequest;
use bazaar_contract::orders::v1::OrderState;
use chassis::auth::Caller;
use tonic::metadata::{Ascii, MetadataValue};

use crate::domain::{ChargeStatus, CheckoutInput, OrderRecord, Step};
use crate::error::OrdersError;
use crate::ids::{ORDER, new_id};
use crate::pricing;
use crate::saga::{Sagas, Secrets};
use crate::store::{Claim, Created};

/// The most one charge may take, in US dollars or their equivalent, as payment's contract
/// states (`ChargeRequest.amount`). An order priced above it is refused before anything is
/// reserved, instead of failing at the charge after holding stock.
pub const MAX_CHARGE_USD_UNITS: i64 = 1_000_000;

/// How long a claim on a request id holds without an order: longer than pricing can take
/// (a few calls, each within the caller's deadline or the 5 s default).
const CLAIM_MS: i64 = 60_000;
/// Time kept from the caller's deadline to send the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// Places an order for `caller`, as PlaceOrder promises.
pub async fn place_order(
    sagas: &Sagas,
    caller: &Caller,
    input: CheckoutInput,
    authorization: Option<MetadataValue<Ascii>>,
) -> Result<OrderRecord, OrdersError> {
    let store = sagas.store().map_err(|_| OrdersError::NotReady)?.clone();
    let fingerprint = input.fingerprint();
    let request_id = input.request_id.as_str();
    let now = sagas.now_ms();
    match store
        .claim_request(
            &caller.user_id,
            request_id,
            &fingerprint,
            now,
            now + CLAIM_MS,
        )
        .await?
    {
        Claim::Claimed => {}
        Claim::Order {
            fingerprint: first,
            order_id,
        } => {
            if first != fingerprint {
                return Err(OrdersError::RequestIdReused);
            }
            return answer(sagas, &order_id).await;
        }
        Claim::InProgress { fingerprint: first } => {
            return Err(if first == fingerprint {
                OrdersError::InProgress
            } else {
                OrdersError::RequestIdReused
            });
        }
    }
    let max_pending = sagas.limits().max_pending_per_caller;
    let recorded = async {
        // Checked first so that a caller at the cap costs no pricing; checked again when
        // the order is recorded, against concurrent calls.
        if store.pending_orders(&caller.user_id).await? >= max_pending {
            return Err(OrdersError::TooManyPending(max_pending));
        }
        let order = prepare(sagas, caller, &input).await?;
        let lease_until = order.create_time_ms + sagas.timing().lease_ms;
        let traceparent = chassis::trace::traceparent(&tracing::Span::current());
        match store
            .create_order(
                &order,
                request_id,
                sagas.owner(),
                lease_until,
                max_pending,
                traceparent.as_deref(),
            )
            .await?
        {
            Created::Created => Ok(order),
            Created::ClaimLost => Err(OrdersError::InProgress),
            Created::TooManyPending(max) => Err(OrdersError::TooManyPending(max)),
        }
    }
    .await;
    let order = match recorded {
        Ok(order) => order,
        Err(error) => {
            if let Err(release) = store.release_claim(&caller.user_id, request_id).await {
                tracing::warn!(error = %chassis::error::chain(&release),
                    "cannot free the request id; it frees itself within a minute");
            }
            return Err(error);
        }
    };
    tracing::info!(order_id = %order.id, user_id = %order.user_id, total = ?order.total,
        "order recorded");
    let order_id = order.id.clone();
    sagas.start(
        order,
        Secrets {
            card: Some(input.card),
            authorization,
        },
    );
    answer(sagas, &order_id).await
}

/// Reads the cart and prices it into a new PENDING order (not stored yet).
async fn prepare(
    sagas: &Sagas,
    caller: &Caller,
    input: &CheckoutInput,
) -> Result<OrderRecord, OrdersError> {
    let clients = sagas.clients();
    let cart = clients
        .cart
        .clone()
        .get_cart(GetCartRequest {})
        .await
        .map_err(|status| OrdersError::Upstream {
            service: "cart",
            status,
        })?
        .into_inner()
        .cart
        .unwrap_or_default();
    let lines: Vec<_> = cart.items.into_iter().filter(|l| l.quantity > 0).collect();
    if lines.is_empty() {
        return Err(OrdersError::CartEmpty);
    }
    let priced = pricing::price(
        clients,
        &lines,
        input.address.as_pb(),
        input.currency.code(),
        sagas.timing().currency_timeout,
    )
    .await?;
    if priced.usd_total.nanos()
        > i128::from(MAX_CHARGE_USD_UNITS) * bazaar_contract::values::money::NANOS_PER_UNIT
    {
        return Err(OrdersError::OrderTooLarge);
    }
    let now = sagas.now_ms();
    Ok(OrderRecord {
        id: new_id(&ORDER),
        user_id: caller.user_id.clone(),
        state: OrderState::Pending,
        step: Step::Reserve,
        failure: None,
        currency: priced.currency,
        subtotal: priced.subtotal,
        shipping_cost: priced.shipping_cost,
        total: priced.total,
        items: priced.items,
        reservation_attempt: 1,
        reservation_id: String::new(),
        charge_status: ChargeStatus::None,
        charge_started_ms: 0,
        charge_id: String::new(),
        shipment_id: String::new(),
        tracking_id: String::new(),
        address: input.address.as_pb().clone(),
        email: input.email.as_str().to_owned(),
        estimated_delivery_days: priced.estimated_delivery_days,
        cart_etag: cart.etag,
        create_time_ms: now,
        update_time_ms: now,
    })
}

/// Waits for the saga of `order_id` as long as the call may, then answers with the order.
async fn answer(sagas: &Sagas, order_id: &str) -> Result<OrderRecord, OrdersError> {
    let mut bound = sagas.timing().place_order_wait;
    if let Some(deadline) = chassis::deadline::current() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        bound = bound.min(left.saturating_sub(ANSWER_MARGIN));
    }
    if let Some(done) = sagas.wait(order_id, bound).await {
        return Ok(done);
    }
    let store = sagas.store().map_err(|_| OrdersError::NotReady)?;
    store
        .get_order(order_id)
        .await?
        .ok_or_else(|| OrdersError::Internal(format!("recorded order {order_id} is gone")))
}
