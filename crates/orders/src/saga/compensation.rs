//! The saga's compensations, in the order they run: cancel the shipment, refund the
//! charge, release the reservation, then mark the order FAILED with its event. Each treats
//! "already undone" and "never existed" as done, and does nothing when there is nothing to
//! undo. Like the forward steps ([`super::steps`]), they never write; they return the order
//! to store next.

use bazaar_contract::inventory::v1::ReleaseReservationRequest;
use bazaar_contract::orders::v1::{OrderEventType, OrderState};
use bazaar_contract::payment::v1::RefundRequest;
use bazaar_contract::shipping::v1::CancelShipmentRequest;
use tonic::Code;

use super::context::{Outcome, StepContext, find_charge, retry};
use crate::clients::describe;
use crate::domain::{ChargeStatus, OrderRecord, Step};

pub async fn cancel_shipment(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    if !order.shipment_id.is_empty() {
        let request = CancelShipmentRequest {
            shipment_id: order.shipment_id.clone(),
        };
        match cx.clients.shipping.clone().cancel_shipment(request).await {
            Ok(_) => {}
            Err(status) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => {
                tracing::error!(order_id = %order.id, problem = %describe("shipping", &status),
                    "shipment of a failed order cannot be cancelled");
            }
            Err(status) => return retry("shipping", &status),
        }
    }
    let mut next = order.clone();
    next.step = next.step_after_cancel();
    Outcome::Next(Box::new(next), None)
}

pub async fn refund(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    let mut next = order.clone();
    if order.charge_id.is_empty() {
        if order.charge_status == ChargeStatus::Attempting {
            // A Charge may have been made: look for it before saying nothing was charged.
            match find_charge(cx, order).await {
                Ok(Some(charge_id)) => {
                    next.charge_id = charge_id;
                    next.charge_status = ChargeStatus::Charged;
                }
                Ok(None) => {
                    next.charge_status = ChargeStatus::None;
                    next.step = Step::Release;
                }
                Err(outcome) => return outcome,
            }
        } else {
            next.step = Step::Release;
        }
        return Outcome::Next(Box::new(next), None);
    }
    let request = RefundRequest {
        request_id: order.refund_request_id(),
        charge_id: order.charge_id.clone(),
    };
    match cx.clients.payment.clone().refund(request).await {
        Ok(_) => {}
        Err(status) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => {
            tracing::error!(order_id = %order.id, problem = %describe("payment", &status),
                "charge of a failed order cannot be refunded");
        }
        Err(status) => return retry("payment", &status),
    }
    next.step = Step::Release;
    Outcome::Next(Box::new(next), None)
}

pub async fn release(cx: &StepContext<'_>, order: &OrderRecord) -> Outcome {
    if !order.reservation_id.is_empty() {
        let request = ReleaseReservationRequest {
            reservation_id: order.reservation_id.clone(),
        };
        match cx
            .clients
            .inventory
            .clone()
            .release_reservation(request)
            .await
        {
            Ok(_) => {}
            Err(status) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => {
                tracing::error!(order_id = %order.id, problem = %describe("inventory", &status),
                    "reservation of a failed order cannot be released");
            }
            Err(status) => return retry("inventory", &status),
        }
    }
    let mut next = order.clone();
    next.state = OrderState::Failed;
    next.step = Step::Done;
    Outcome::Next(Box::new(next), Some(OrderEventType::Failed))
}
