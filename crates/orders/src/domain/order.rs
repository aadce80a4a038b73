//! An order as orders keeps it: what was bought, for how much, where it goes, and where
//! its checkout saga stands. The API shows it with [`OrderRecord::to_pb`].
//!
//! The saga's position is [`Step`], the step to run next. The happy path is
//! `Reserve → Charge → Ship → Commit → EmptyCart → Done`; a business failure records the
//! [`Failure`] and compensates with `CancelShipment → Refund → Release → Done`, starting at
//! the first step that has something to undo. Every request sent to another service for a
//! step carries a request id derived from the order id, so a step tried again (after a
//! timeout, a crash, a restart) never does its work twice.

use bazaar_contract::orders::v1::{self as pb, FailureReason, OrderState};
use bazaar_contract::types::v1::{Address, Money};
use bazaar_contract::values::calendar::timestamp;

/// The saga step to run next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Reserve the stock (inventory).
    Reserve,
    /// Charge the card (payment).
    Charge,
    /// Create the shipment (shipping).
    Ship,
    /// Commit the reservation, then mark the order PLACED.
    Commit,
    /// Empty the shopper's cart (best effort), after PLACED.
    EmptyCart,
    /// Compensation: cancel the shipment.
    CancelShipment,
    /// Compensation: refund the charge.
    Refund,
    /// Compensation: release the reservation, then mark the order FAILED.
    Release,
    /// Nothing left to do.
    Done,
}

impl Step {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Reserve => "reserve",
            Step::Charge => "charge",
            Step::Ship => "ship",
            Step::Commit => "commit",
            Step::EmptyCart => "empty_cart",
            Step::CancelShipment => "cancel_shipment",
            Step::Refund => "refund",
            Step::Release => "release",
            Step::Done => "done",
        }
    }

    /// The step of a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "reserve" => Step::Reserve,
            "charge" => Step::Charge,
            "ship" => Step::Ship,
            "commit" => Step::Commit,
            "empty_cart" => Step::EmptyCart,
            "cancel_shipment" => Step::CancelShipment,
            "refund" => Step::Refund,
            "release" => Step::Release,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

/// What is known about the charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargeStatus {
    /// Not attempted.
    None,
    /// A Charge was (or may have been) sent and its outcome is not known yet.
    Attempting,
    /// Charged: `charge_id` is set.
    Charged,
    /// Declined: nothing was charged.
    Declined,
}

impl ChargeStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::None => "none",
            ChargeStatus::Attempting => "attempting",
            ChargeStatus::Charged => "charged",
            ChargeStatus::Declined => "declined",
        }
    }

    /// The status of a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "none" => ChargeStatus::None,
            "attempting" => ChargeStatus::Attempting,
            "charged" => ChargeStatus::Charged,
            "declined" => ChargeStatus::Declined,
            _ => return None,
        })
    }
}

/// Why a checkout failed, as the shopper is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The reason, for programs.
    pub reason: FailureReason,
    /// 1..=500 characters, fit to show to the shopper.
    pub message: String,
    /// Products that lacked stock (OUT_OF_STOCK only).
    pub product_ids: Vec<String>,
}

impl Failure {
    /// A failure with `message` cut to the contract's 500 characters.
    pub fn new(reason: FailureReason, message: &str, product_ids: Vec<String>) -> Self {
        let mut message: String = message.trim().chars().take(500).collect();
        if message.is_empty() {
            message = "The order could not be placed.".to_owned();
        }
        Self {
            reason,
            message,
            product_ids,
        }
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub product_id: String,
    /// Its name when ordered.
    pub name: String,
    /// Its picture when ordered.
    pub picture_uri: String,
    /// Units, 1..=99.
    pub quantity: i32,
    /// Price of one unit in the order's currency.
    pub unit_price: Money,
}

/// An order and its saga state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// Server-generated id.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// PENDING, PLACED or FAILED.
    pub state: OrderState,
    /// The saga step to run next.
    pub step: Step,
    /// Set once a business failure is known (the order stays PENDING while compensating).
    pub failure: Option<Failure>,
    /// The order's currency.
    pub currency: String,
    /// Sum of the lines.
    pub subtotal: Money,
    /// The shipping quote, converted into the order's currency.
    pub shipping_cost: Money,
    /// What is charged.
    pub total: Money,
    /// Lines, in cart order.
    pub items: Vec<Item>,
    /// 1 for the first reservation; one more each time an expired one is made again.
    pub reservation_attempt: i64,
    /// The current reservation, empty until reserved.
    pub reservation_id: String,
    /// What is known about the charge.
    pub charge_status: ChargeStatus,
    /// When the first Charge was sent (ms), 0 before.
    pub charge_started_ms: i64,
    /// The charge, empty until charged.
    pub charge_id: String,
    /// The shipment, empty until created.
    pub shipment_id: String,
    /// The shipment's tracking id.
    pub tracking_id: String,
    /// Where to ship, trimmed.
    pub address: Address,
    /// Where to confirm.
    pub email: String,
    /// From the shipping quote.
    pub estimated_delivery_days: i32,
    /// The cart's version when it was read, to empty it only if unchanged.
    pub cart_etag: String,
    /// When recorded (ms since the epoch).
    pub create_time_ms: i64,
    /// When last changed (ms since the epoch).
    pub update_time_ms: i64,
}

impl OrderRecord {
    /// The order as the contract shows it; `failure` only once the order is FAILED.
    pub fn to_pb(&self) -> pb::Order {
        let failure = match (&self.failure, self.state) {
            (Some(failure), OrderState::Failed) => Some(pb::OrderFailure {
                reason: failure.reason as i32,
                message: failure.message.clone(),
                product_ids: failure.product_ids.clone(),
            }),
            _ => None,
        };
        pb::Order {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            state: self.state as i32,
            failure,
            items: self
                .items
                .iter()
                .map(|item| pb::OrderItem {
                    product_id: item.product_id.clone(),
                    name: item.name.clone(),
                    picture_uri: item.picture_uri.clone(),
                    quantity: item.quantity,
                    unit_price: Some(item.unit_price.clone()),
                })
                .collect(),
            subtotal: Some(self.subtotal.clone()),
            shipping_cost: Some(self.shipping_cost.clone()),
            total: Some(self.total.clone()),
            charge_id: self.charge_id.clone(),
            shipment_id: self.shipment_id.clone(),
            tracking_id: self.tracking_id.clone(),
            shipping_address: Some(self.address.clone()),
            email: self.email.clone(),
            estimated_delivery_days: self.estimated_delivery_days,
            create_time: Some(timestamp(self.create_time_ms)),
            update_time: Some(timestamp(self.update_time_ms)),
        }
    }

    /// Whether the saga has finished.
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// The request id of the current ReserveStock: `<id>-reserve`, then `<id>-reserve-2`,
    /// ... for reservations made again after one expired.
    pub fn reserve_request_id(&self) -> String {
        if self.reservation_attempt <= 1 {
            format!("{}-reserve", self.id)
        } else {
            format!("{}-reserve-{}", self.id, self.reservation_attempt)
        }
    }

    /// The request id of the Charge: `<id>-charge`, the same on every retry, so the order is
    /// charged once.
    pub fn charge_request_id(&self) -> String {
        format!("{}-charge", self.id)
    }

    /// The request id of the CreateShipment: `<id>-ship`, the same on every retry, so the
    /// order is shipped once.
    pub fn ship_request_id(&self) -> String {
        format!("{}-ship", self.id)
    }

    /// What the order's shipment holds: each line's product and quantity.
    pub fn shipment_items(&self) -> Vec<bazaar_contract::shipping::v1::ShipmentItem> {
        self.items
            .iter()
            .map(|item| bazaar_contract::shipping::v1::ShipmentItem {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
            })
            .collect()
    }

    /// The request id of the Refund: `<id>-refund`, the same on every retry, so the charge is
    /// refunded once.
    pub fn refund_request_id(&self) -> String {
        format!("{}-refund", self.id)
    }

    /// The step after a successful reservation: whatever the happy path still lacks.
    pub fn step_after_reserve(&self) -> Step {
        if self.charge_status != ChargeStatus::Charged {
            Step::Charge
        } else if self.shipment_id.is_empty() {
            Step::Ship
        } else {
            Step::Commit
        }
    }

    /// Records a business failure and moves to the first compensation that has something to
    /// undo (or straight to the end when nothing was done).
    pub fn fail(&mut self, failure: Failure) {
        self.failure = Some(failure);
        self.step = if !self.shipment_id.is_empty() {
            Step::CancelShipment
        } else {
            self.step_after_cancel()
        };
    }

    /// The compensation after the shipment is cancelled.
    pub fn step_after_cancel(&self) -> Step {
        if !self.charge_id.is_empty() || self.charge_status == ChargeStatus::Attempting {
            Step::Refund
        } else {
            Step::Release
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_statuses_round_trip() {
        for step in [
            Step::Reserve,
            Step::Charge,
            Step::Ship,
            Step::Commit,
            Step::EmptyCart,
            Step::CancelShipment,
            Step::Refund,
            Step::Release,
            Step::Done,
        ] {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        for status in [
            ChargeStatus::None,
            ChargeStatus::Attempting,
            ChargeStatus::Charged,
            ChargeStatus::Declined,
        ] {
            assert_eq!(ChargeStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(Step::parse("bogus"), None);
    }

    #[test]
    fn failure_messages_are_bounded() {
        let long = Failure::new(FailureReason::PaymentDeclined, &"x".repeat(600), vec![]);
        assert_eq!(long.message.chars().count(), 500);
        let empty = Failure::new(FailureReason::PaymentDeclined, "  ", vec![]);
        assert!(!empty.message.is_empty());
    }
}
