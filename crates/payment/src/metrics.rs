//! payment's own number: `bazaar_payments_total{outcome}`, what became of each card
//! payment. It tells an operator at a glance whether cards go through, how many are
//! declined (a shop-wide rise means a problem with the card network or the checkout, not
//! with shoppers), and whether the network errs.
//!
//! Counted where the fact becomes true: a charge when its SUCCEEDED or DECLINED record is
//! stored, a refund when the charge turns REFUNDED (a retried Refund finds it refunded and
//! counts nothing), a processing error when the network answers one (nothing is stored
//! then). A Charge retry that replays a stored outcome counts nothing, so each payment is
//! counted once. `outcome` is one of [`OUTCOMES`].

use crate::domain::ChargeStatus;

/// Card payments, by `outcome`.
pub(crate) const PAYMENTS: &str = "bazaar_payments_total";

/// The values of `outcome`.
pub(crate) const OUTCOMES: [&str; 4] = ["succeeded", "declined", "refunded", "processing_error"];

/// A charge's outcome was stored as `status`.
pub(crate) fn charge_recorded(status: ChargeStatus) {
    count(match status {
        ChargeStatus::Succeeded => OUTCOMES[0],
        ChargeStatus::Declined => OUTCOMES[1],
        ChargeStatus::Refunded => OUTCOMES[2],
    });
}

/// A charge was refunded (stored as REFUNDED) just now.
pub(crate) fn refunded() {
    count(OUTCOMES[2]);
}

/// The card network answered a charge with a processing error; nothing was charged.
pub(crate) fn processing_error() {
    count(OUTCOMES[3]);
}

fn count(outcome: &'static str) {
    ::metrics::counter!(PAYMENTS, "outcome" => outcome).increment(1);
}
