//! Charging and refunding: the steps of each call, over the store, decided by the domain.
//!
//! A Charge runs claim → check → authorize → record:
//!
//! 1. claim the `request_id` (an insert that only one call can win; a retry of a finished
//!    call replays its result, one of a running call is ABORTED, one with other
//!    parameters is REQUEST_ID_REUSED);
//! 2. refuse an order that already has a SUCCEEDED or REFUNDED charge;
//! 3. ask the simulated network;
//! 4. record the charge as SUCCEEDED or DECLINED, or give the claim up when nothing is to
//!    be recorded (a processing error, an order charged meanwhile).
//!
//! The card's number and CVV go only to step 3; steps 1 and 4 see its brand, last four
//! digits and the fingerprint.
//!
//! Each outcome counts once in `bazaar_payments_total` (see `metrics`), when it is stored:
//! never for a retry that replays it.

use std::sync::Arc;

use bazaar_contract::values::calendar::YearMonth;

use crate::clock::Clock;
use crate::domain::{self, ChargeOrder, ChargeStatus, RequestId, Verdict};
use crate::error::PaymentError;
use crate::metrics;
use crate::store::{ChargeRecord, ChargeStore, Claim, Finished, NewClaim, Refunded, Settlement};

/// The ledger's operations, with the clock they read and how long a claim holds.
#[derive(Clone, Debug)]
pub struct Ledger {
    store: ChargeStore,
    clock: Arc<dyn Clock>,
    lease_ms: i64,
}

impl Ledger {
    /// Operations on `store`, at the time of `clock`; a Charge call that has not finished
    /// after `lease_ms` is taken over by its next retry.
    pub fn new(store: ChargeStore, clock: Arc<dyn Clock>, lease_ms: i64) -> Self {
        Self {
            store,
            clock,
            lease_ms,
        }
    }

    /// Charges the card of `order`, at most once per `request_id` and per order.
    pub async fn charge(&self, order: ChargeOrder) -> Result<ChargeRecord, PaymentError> {
        let fingerprint = order.fingerprint();
        let charge_id = domain::new_charge_id()?;
        let claim = NewClaim {
            charge_id: &charge_id,
            request_id: order.request_id.as_str(),
            fingerprint: &fingerprint,
            order_id: order.order_id.as_str(),
            amount: &order.amount,
            card_brand: order.card.brand(),
            card_last4: order.card.last4(),
        };
        let now = self.clock.now_ms();
        let (charge_id, token) = match self.store.claim(&claim, now, self.lease_ms).await? {
            Claim::Won { charge_id, token } => (charge_id, token),
            Claim::InFlight => return Err(PaymentError::InProgress),
            Claim::Reused => return Err(PaymentError::RequestIdReused),
            Claim::Done(record) => return replay(record),
        };
        let outcome = self.settle(&order, &charge_id, token).await;
        if let Err(error) = &outcome
            && !matches!(error, PaymentError::Declined { .. })
        {
            // Nothing to record (or the store failed): give the request id back. If even
            // this fails, the claim expires after the lease and a retry takes it over.
            if let Err(error) = self.store.release(&charge_id, token).await {
                tracing::warn!(error = %chassis::error::chain(&error), "cannot release a claim");
            }
        }
        outcome
    }

    /// Steps 2 to 4 of a claimed charge.
    async fn settle(
        &self,
        order: &ChargeOrder,
        charge_id: &str,
        token: i64,
    ) -> Result<ChargeRecord, PaymentError> {
        if let Some(paid) = self.store.paid_charge_of(order.order_id.as_str()).await? {
            return Err(PaymentError::OrderAlreadyCharged { charge_id: paid });
        }
        let now = self.clock.now_ms();
        let settlement = match domain::network::authorize(&order.card, YearMonth::of_ms(now)) {
            Verdict::Approved => Settlement::Succeeded,
            Verdict::Declined(reason) => Settlement::Declined(reason),
            Verdict::ProcessingError => {
                metrics::processing_error();
                return Err(PaymentError::ProcessingError);
            }
        };
        match self.store.finish(charge_id, token, settlement, now).await? {
            Finished::Recorded(record) => {
                metrics::charge_recorded(record.status);
                tracing::info!(
                    charge_id,
                    order_id = %record.order_id,
                    status = ?record.status,
                    decline_reason = ?record.decline_reason,
                    "charge recorded"
                );
                replay(record)
            }
            Finished::OrderAlreadyCharged => {
                match self.store.paid_charge_of(order.order_id.as_str()).await? {
                    Some(paid) => Err(PaymentError::OrderAlreadyCharged { charge_id: paid }),
                    None => Err(PaymentError::InProgress),
                }
            }
            // A retry took the call over; it will record the (same) outcome.
            Finished::ClaimLost => Err(PaymentError::InProgress),
        }
    }

    /// Refunds a charge in full, once.
    pub async fn refund(
        &self,
        request_id: &RequestId,
        charge_id: &str,
    ) -> Result<ChargeRecord, PaymentError> {
        let now = self.clock.now_ms();
        match self
            .store
            .refund(request_id.as_str(), charge_id, now)
            .await?
        {
            Refunded::Refunded(record) => {
                metrics::refunded();
                Ok(record)
            }
            Refunded::AlreadyRefunded(record) => Ok(record),
            Refunded::NotFound => Err(PaymentError::ChargeNotFound(charge_id.to_owned())),
            Refunded::NotRefundable => Err(PaymentError::NotRefundable(charge_id.to_owned())),
            Refunded::Reused => Err(PaymentError::RequestIdReused),
        }
    }
}

/// The result a Charge call gives for a recorded charge: the charge, or the decline.
fn replay(record: ChargeRecord) -> Result<ChargeRecord, PaymentError> {
    match (record.status, record.decline_reason) {
        (ChargeStatus::Declined, Some(reason)) => Err(PaymentError::Declined {
            charge_id: record.id,
            reason,
        }),
        (ChargeStatus::Declined, None) => Err(PaymentError::Corrupt(format!(
            "declined charge {} has no reason",
            record.id
        ))),
        _ => Ok(record),
    }
}
