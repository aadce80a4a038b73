//! The saga's steps: one call to another service each, and what its answer means for the
//! order. A step never writes; it returns the order as it should be stored next
//! ([`Outcome::Next`], with the event to publish, if any) or says why the same step must be
//! tried again later ([`Outcome::Retry`]: a technical failure). The engine ([`super`])
//! stores and retries; [`run`] picks the step, forward or compensating.
//!
//! Business failures (not enough stock, card declined) record a [`Failure`] and turn the
//! saga to compensation ([`super::compensation`]). Every call carries a request id derived
//! from the order id, so trying a step again never reserves, charges or ships twice.
//!
//! The card lives only in the memory of the process that took the order. A saga resumed
//! elsewhere (after a crash or restart) before the charge is known cannot charge: if a
//! Charge may have been sent, it asks payment for the order's charges and keeps a
//! successful one; otherwise the order fails (reason PAYMENT_UNAVAILABLE, with a message
//! saying nothing was charged), and the refund step checks payment again, so that nothing
//! stays charged. The same happens when the charge keeps failing for technical reasons for
//! longer than `--charge-give-up-secs`.
//!
//! Nothing another service says the order already has is taken on trust: a charge that
//! payment reports for the order (ORDER_ALREADY_CHARGED, or found after a restart) is the
//! order's payment only if it is for exactly its total in its currency, and a shipment
//! (ORDER_ALREADY_SHIPPED) only if it goes to its address with its items
//! ([`crate::domain::Mismatch`]). Otherwise the order fails (PAYMENT_UNAVAILABLE, logged at
//! WARN) and compensates what it made itself; the foreign charge or shipment is left as it
//! is, never refunded or cancelled by orders.

use bazaar_contract::cart::v1::EmptyCartRequest;
use bazaar_contract::inventory::v1::{
    CommitReservationRequest, ReservationLine, ReserveStockRequest,
};
use bazaar_contract::orders::v1::{FailureReason, OrderEventType, OrderState};
use bazaar_contract::payment::v1::{Charge, ChargeRequest, GetChargeRequest};
use bazaar_contract::shipping::v1::{CreateShipmentRequest, GetShipmentRequest};
use tonic::Code;
use tonic_types::StatusExt;

use super::compensation;
use super::context::{Outcome, StepContext, find_charge, retry};
use crate::clients::{describe, is, metadata};
use crate::domain::{ChargeStatus, Failure, Mismatch, OrderRecord, Step};

/// The message of a checkout that could not charge the card and charged nothing.
const NOT_CHARGED: &str = "The payment could not be completed and nothing was charged. \
    Please place the order again.";

/// The message of a checkout that found a charge of its order it did not make.
const NOT_CHARGED_FOREIGN: &str = "The payment could not be verified and your card was not \
    charged. Please place the order again.";

/// The message of a checkout that another service answered with something it did not ask
/// for; what it made is undone.
const NOT_VERIFIED: &str = "The order could not be verified; it was not placed and its \
    payment was refunded. Please place the order again.";

/// The message of a checkout that found a shipment of its order it did not make.
const NOT_SHIPPED_FOREIGN: &str = "The shipment could not be verified; the order was not \
    placed and its payment was refunded. Please place the order again.";

/// Runs the order's current step once.
pub async fn run(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    match order.step {
        Step::Reserve => reserve(cx, order).await,
        Step::Charge => charge(cx, order).await,
        Step::Ship => ship(cx, order).await,
        Step::Commit => commit(cx, order).await,
        Step::EmptyCart => empty_cart(cx, order).await,
        Step::CancelShipment => compensation::cancel_shipment(cx, order).await,
        Step::Refund => compensation::refund(cx, order).await,
        Step::Release => compensation::release(cx, order).await,
        Step::Done => Outcome::Next(Box::new(order.clone()), None),
    }
}

async fn reserve(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    let request = ReserveStockRequest {
        request_id: order.reserve_request_id(),
        lines: order
            .items
            .iter()
            .map(|item| ReservationLine {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
            })
            .collect(),
        ttl: Some(prost_types::Duration {
            seconds: cx.timing.reservation_ttl_secs,
            nanos: 0,
        }),
        reference: order.id.clone(),
    };
    let mut next = order.clone();
    match cx.clients.inventory.clone().reserve_stock(request).await {
        Ok(response) => {
            let id = response
                .into_inner()
                .reservation
                .map(|r| r.id)
                .unwrap_or_default();
            if id.is_empty() {
                return Outcome::Retry("inventory answered without a reservation".to_owned());
            }
            next.reservation_id = id;
            next.step = next.step_after_reserve();
            if next.step == Step::Charge
                && next.charge_status == ChargeStatus::None
                && cx.secrets.card.is_some()
            {
                // The charge is sent next: its mark goes with the reservation, one write
                // instead of two, and is stored before the Charge is sent all the same.
                next.charge_status = ChargeStatus::Attempting;
                next.charge_started_ms = cx.now_ms;
            }
            Outcome::Next(Box::new(next), None)
        }
        Err(status) if is(&status, Code::FailedPrecondition, "INSUFFICIENT_STOCK") => {
            let short: Vec<String> = status
                .get_details_precondition_failure()
                .map(|p| p.violations.into_iter().map(|v| v.subject).collect())
                .unwrap_or_default();
            let names: Vec<&str> = order
                .items
                .iter()
                .filter(|item| short.contains(&item.product_id))
                .map(|item| item.name.as_str())
                .collect();
            let message = if names.is_empty() {
                "Sorry, some products of your order are out of stock.".to_owned()
            } else {
                format!("Sorry, not enough stock of: {}.", names.join(", "))
            };
            next.fail(Failure::new(FailureReason::OutOfStock, &message, short));
            Outcome::Next(Box::new(next), None)
        }
        Err(status) => retry("inventory", &status),
    }
}

async fn charge(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    let mut next = order.clone();
    let card = match (&cx.secrets.card, order.charge_status) {
        (_, ChargeStatus::Charged) => {
            next.step = Step::Ship;
            return Outcome::Next(Box::new(next), None);
        }
        (None, ChargeStatus::Attempting) => {
            // Resumed without the card after a Charge may have been sent.
            return match find_charge(cx, order).await {
                Ok(Some(charge_id)) => {
                    next.charge_id = charge_id;
                    next.charge_status = ChargeStatus::Charged;
                    next.step = Step::Ship;
                    Outcome::Next(Box::new(next), None)
                }
                Ok(None) => fail_uncharged(next),
                Err(outcome) => outcome,
            };
        }
        (None, _) => return fail_uncharged(next),
        (Some(_), ChargeStatus::Attempting)
            if cx.now_ms - order.charge_started_ms > cx.timing.charge_give_up_ms =>
        {
            tracing::warn!(order_id = %order.id, "the charge kept failing; giving up");
            return fail_uncharged(next);
        }
        (Some(_), ChargeStatus::None | ChargeStatus::Declined) => {
            // Stored before the Charge is sent: whoever resumes this saga knows a charge
            // may exist.
            next.charge_status = ChargeStatus::Attempting;
            next.charge_started_ms = cx.now_ms;
            return Outcome::Next(Box::new(next), None);
        }
        (Some(card), ChargeStatus::Attempting) => card,
    };
    let request = ChargeRequest {
        request_id: order.charge_request_id(),
        order_id: order.id.clone(),
        amount: Some(order.total.clone()),
        card: Some(card.as_pb().clone()),
    };
    match cx.clients.payment.clone().charge(request).await {
        Ok(response) => match response.into_inner().charge {
            Some(charge) if !charge.id.is_empty() => match order.check_charge(&charge) {
                Ok(()) => accept_charge(order, next, &charge),
                Err(mismatch) => {
                    // Made for this checkout's own request, yet not what it asked for:
                    // payment broke its contract. The charge is this checkout's, so it is
                    // refunded with the rest.
                    tracing::error!(order_id = %order.id, %mismatch,
                        "payment answered the checkout's Charge with another charge");
                    next.charge_id = charge.id;
                    next.charge_status = ChargeStatus::Charged;
                    next.fail(Failure::new(
                        FailureReason::PaymentUnavailable,
                        NOT_VERIFIED,
                        Vec::new(),
                    ));
                    Outcome::Next(Box::new(next), None)
                }
            },
            _ => Outcome::Retry("payment answered without a charge".to_owned()),
        },
        Err(status) if is(&status, Code::FailedPrecondition, "CARD_DECLINED") => {
            next.charge_status = ChargeStatus::Declined;
            next.fail(Failure::new(
                FailureReason::PaymentDeclined,
                status.message(),
                Vec::new(),
            ));
            Outcome::Next(Box::new(next), None)
        }
        Err(status) if is(&status, Code::AlreadyExists, "ORDER_ALREADY_CHARGED") => {
            // Someone charged this order id already: the saga itself (a retry whose answer
            // was lost) or anyone else who can call payment. Only the exact charge counts.
            let Some(id) = metadata(&status, "charge_id").filter(|id| !id.is_empty()) else {
                return retry("payment", &status);
            };
            match cx
                .clients
                .payment
                .clone()
                .get_charge(GetChargeRequest { charge_id: id })
                .await
            {
                Ok(response) => match response.into_inner().charge {
                    Some(charge) => accept_charge(order, next, &charge),
                    None => Outcome::Retry("payment answered without a charge".to_owned()),
                },
                Err(status) => retry("payment", &status),
            }
        }
        Err(status) if is(&status, Code::AlreadyExists, "REQUEST_ID_REUSED") => {
            // The charge's request id was used with other parameters: only the card differs
            // between tries of this saga, and it never changes, so another caller used it.
            // Nothing was charged for this checkout.
            reject(
                next,
                "payment",
                &Mismatch(format!(
                    "request id {} was used by another Charge",
                    order.charge_request_id()
                )),
                NOT_CHARGED_FOREIGN,
            )
        }
        Err(status) if status.code() == Code::InvalidArgument => {
            // Refused before charging (an amount payment does not take): nothing charged.
            tracing::error!(order_id = %order.id, problem = %describe("payment", &status),
                "payment refused the charge request");
            next.charge_status = ChargeStatus::Declined;
            next.fail(Failure::new(
                FailureReason::PaymentDeclined,
                "The payment could not be processed and nothing was charged.",
                Vec::new(),
            ));
            Outcome::Next(Box::new(next), None)
        }
        Err(status) => retry("payment", &status),
    }
}

/// Keeps `charge` as the order's payment if it is exactly that ([`OrderRecord::check_charge`]);
/// otherwise fails the order without counting it as paid, and without refunding it: it is
/// not this checkout's charge.
fn accept_charge(order: &OrderRecord, mut next: OrderRecord, charge: &Charge) -> Outcome {
    match order.check_charge(charge) {
        Ok(()) => {
            next.charge_id.clone_from(&charge.id);
            next.charge_status = ChargeStatus::Charged;
            next.step = Step::Ship;
            Outcome::Next(Box::new(next), None)
        }
        Err(mismatch) => reject(next, "payment", &mismatch, NOT_CHARGED_FOREIGN),
    }
}

/// Fails the order because `service` holds something for it that this checkout did not
/// make. What the order itself holds is compensated as after any business failure; the
/// foreign charge or shipment is left alone (never refunded or cancelled by orders).
fn reject(mut next: OrderRecord, service: &str, mismatch: &Mismatch, message: &str) -> Outcome {
    tracing::warn!(order_id = %next.id, service, %mismatch,
        "not accepted: the order's checkout did not make this; failing the order");
    if service == "payment" {
        next.charge_status = ChargeStatus::None;
        next.charge_id.clear();
    }
    next.fail(Failure::new(
        FailureReason::PaymentUnavailable,
        message,
        Vec::new(),
    ));
    Outcome::Next(Box::new(next), None)
}

/// Fails an order whose card cannot be charged (lost with a restart, or payment failing
/// for too long); the refund step checks once more that nothing stays charged.
fn fail_uncharged(mut next: OrderRecord) -> Outcome {
    next.fail(Failure::new(
        FailureReason::PaymentUnavailable,
        NOT_CHARGED,
        Vec::new(),
    ));
    Outcome::Next(Box::new(next), None)
}

async fn ship(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    let request = CreateShipmentRequest {
        request_id: order.ship_request_id(),
        order_id: order.id.clone(),
        address: Some(order.address.clone()),
        items: order.shipment_items(),
    };
    let mut shipping = cx.clients.shipping.clone();
    let (shipment, own) = match shipping.create_shipment(request).await {
        Ok(response) => (response.into_inner().shipment, true),
        Err(status) if is(&status, Code::AlreadyExists, "REQUEST_ID_REUSED") => {
            let mismatch = Mismatch(format!(
                "request id {} was used by another CreateShipment",
                order.ship_request_id()
            ));
            return reject(order.clone(), "shipping", &mismatch, NOT_SHIPPED_FOREIGN);
        }
        Err(status) if is(&status, Code::AlreadyExists, "ORDER_ALREADY_SHIPPED") => {
            // Only a shipment of this order to its address counts (checked below): anyone
            // who can call shipping could have made one first.
            let Some(id) = metadata(&status, "shipment_id").filter(|id| !id.is_empty()) else {
                return retry("shipping", &status);
            };
            match shipping
                .get_shipment(GetShipmentRequest { shipment_id: id })
                .await
            {
                Ok(response) => (response.into_inner().shipment, false),
                Err(status) => return retry("shipping", &status),
            }
        }
        Err(status) => return retry("shipping", &status),
    };
    let Some(shipment) = shipment.filter(|s| !s.id.is_empty()) else {
        return Outcome::Retry("shipping answered without a shipment".to_owned());
    };
    match order.check_shipment(&shipment) {
        Ok(()) => {}
        Err(mismatch) if own => {
            // Made for this checkout's own request, yet not what it asked for: shipping
            // broke its contract. The shipment is this checkout's, so it is cancelled with
            // the rest.
            tracing::error!(order_id = %order.id, %mismatch,
                "shipping answered the checkout's CreateShipment with another shipment");
            let mut next = order.clone();
            next.shipment_id = shipment.id;
            next.tracking_id = shipment.tracking_id;
            next.fail(Failure::new(
                FailureReason::PaymentUnavailable,
                NOT_VERIFIED,
                Vec::new(),
            ));
            return Outcome::Next(Box::new(next), None);
        }
        Err(mismatch) => {
            return reject(order.clone(), "shipping", &mismatch, NOT_SHIPPED_FOREIGN);
        }
    }
    let mut next = order.clone();
    next.shipment_id = shipment.id;
    next.tracking_id = shipment.tracking_id;
    next.step = if next.reservation_id.is_empty() {
        Step::Reserve
    } else {
        Step::Commit
    };
    Outcome::Next(Box::new(next), None)
}

async fn commit(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    let mut next = order.clone();
    let request = CommitReservationRequest {
        reservation_id: order.reservation_id.clone(),
    };
    match cx
        .clients
        .inventory
        .clone()
        .commit_reservation(request)
        .await
    {
        Ok(_) => {
            next.state = OrderState::Placed;
            next.step = Step::EmptyCart;
            Outcome::Next(Box::new(next), Some(OrderEventType::Placed))
        }
        Err(status)
            if is(&status, Code::FailedPrecondition, "RESERVATION_EXPIRED")
                || is(&status, Code::FailedPrecondition, "RESERVATION_RELEASED") =>
        {
            // The units are no longer held: reserve them again (with a new request id).
            tracing::warn!(order_id = %order.id, problem = %describe("inventory", &status),
                "reservation lost before commit; reserving again");
            next.reservation_id.clear();
            next.reservation_attempt += 1;
            next.step = Step::Reserve;
            Outcome::Next(Box::new(next), None)
        }
        Err(status) => retry("inventory", &status),
    }
}

async fn empty_cart(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    match &cx.secrets.authorization {
        Some(authorization) => {
            let mut request = tonic::Request::new(EmptyCartRequest {
                etag: order.cart_etag.clone(),
            });
            request
                .metadata_mut()
                .insert(chassis::auth::AUTHORIZATION, authorization.clone());
            match cx.clients.cart.clone().empty_cart(request).await {
                Ok(_) => tracing::debug!(order_id = %order.id, "cart emptied"),
                Err(status) => tracing::info!(order_id = %order.id,
                    problem = %describe("cart", &status), "cart left as it is"),
            }
        }
        None => tracing::info!(order_id = %order.id,
            "cart left as it is: the shopper's token is gone with a restart"),
    }
    let mut next = order.clone();
    next.step = Step::Done;
    Outcome::Next(Box::new(next), None)
}
