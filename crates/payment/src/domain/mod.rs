//! Payment's rules, as types, with no I/O: a request that exists past the edge is valid.
//!
//! [`ChargeOrder`] is a parsed Charge call. The card, the order id and the request id are
//! the contract's own values (`bazaar_contract::values`: a [`Card`] keeps the card data that
//! must never leak); [`brand`] stores a card's network; [`money`] adds payment's limits to
//! amounts; [`network`] is the simulated issuer that approves or declines. What a retry is
//! compared with is [`ChargeOrder::fingerprint`]: a SHA-256 of the parameters that holds
//! the card's brand, last four digits and expiry, never its number or CVV.

pub mod brand;
pub mod money;
pub mod network;

use bazaar_contract::payment::v1 as pb;
use bazaar_contract::values::ids::CHARGE;
use bazaar_contract::values::{RandomnessError, ValueError};
use chassis::error::{AtField, FieldViolation, Violations};
use sha2::{Digest, Sha256};

pub use brand::CardBrand;
pub use money::Amount;
pub use network::{DeclineReason, Verdict};

pub use bazaar_contract::values::{Card, OrderId, RequestId, lookup_id};

/// A new charge id: `ch_` and 26 random base32 characters (128 bits).
pub fn new_charge_id() -> Result<String, RandomnessError> {
    CHARGE.generate()
}

/// Status of a charge in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargeStatus {
    /// Charged.
    Succeeded,
    /// Declined; nothing charged. Final.
    Declined,
    /// Charged, then refunded in full. Final.
    Refunded,
}

impl ChargeStatus {
    /// As the contract's enum.
    pub fn to_pb(self) -> pb::ChargeStatus {
        match self {
            ChargeStatus::Succeeded => pb::ChargeStatus::Succeeded,
            ChargeStatus::Declined => pb::ChargeStatus::Declined,
            ChargeStatus::Refunded => pb::ChargeStatus::Refunded,
        }
    }
}

/// A Charge call, parsed: every field valid.
#[derive(Debug)]
pub struct ChargeOrder {
    /// The idempotency key.
    pub request_id: RequestId,
    /// The order paid for.
    pub order_id: OrderId,
    /// How much.
    pub amount: Amount,
    /// With which card (redacted in `Debug`).
    pub card: Card,
}

impl ChargeOrder {
    /// Parses a ChargeRequest, reporting every bad field at once.
    pub fn parse(request: &pb::ChargeRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(&request.request_id).at("request_id"));
        let order_id = violations.check(OrderId::parse(&request.order_id).at("order_id"));
        let amount = violations.check(Amount::parse("amount", request.amount.as_ref()));
        let card = violations.check(
            (request.card.as_ref())
                .ok_or_else(|| vec![ValueError::required()])
                .and_then(Card::parse)
                .at("card"),
        );
        violations.finish(|| {
            Some(Self {
                request_id: request_id?,
                order_id: order_id?,
                amount: amount?,
                card: card?,
            })
        })
    }

    /// SHA-256 of what a retry must repeat: amount, order, and the card's brand, last four
    /// digits and expiry. Neither the number nor the CVV goes in.
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut hash = Sha256::new();
        let expiry = self.card.expiry();
        for part in [
            "bazaar.payment.Charge.v1",
            self.order_id.as_str(),
            self.amount.currency_code(),
            &self.amount.units().to_string(),
            &self.amount.nanos().to_string(),
            &brand::code(self.card.brand()).to_string(),
            self.card.last4(),
            &expiry.year().to_string(),
            &expiry.month().to_string(),
        ] {
            // Length-prefixed, so no two different lists of parts hash alike.
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::types::v1::Money;

    fn request() -> pb::ChargeRequest {
        pb::ChargeRequest {
            request_id: "req-1".to_owned(),
            order_id: "order-1".to_owned(),
            amount: Some(Money {
                currency_code: "USD".to_owned(),
                units: 10,
                nanos: 500_000_000,
            }),
            card: Some(pb::Card {
                number: "4242424242424242".to_owned(),
                expiry_month: 12,
                expiry_year: 2031,
                cvv: "123".to_owned(),
                holder_name: "Ada".to_owned(),
            }),
        }
    }

    #[test]
    fn fingerprints_tell_parameters_apart_but_not_cvv_or_holder() {
        let base = ChargeOrder::parse(&request()).unwrap().fingerprint();
        assert_eq!(base.len(), 32);
        let mut same = request();
        if let Some(card) = same.card.as_mut() {
            card.cvv = "999".to_owned();
            card.holder_name = "Someone Else".to_owned();
            card.number = "4242 4242 4242 4242".to_owned();
        }
        assert_eq!(ChargeOrder::parse(&same).unwrap().fingerprint(), base);
        let changes: [fn(&mut pb::ChargeRequest); 5] = [
            |r| r.order_id = "order-2".to_owned(),
            |r| r.amount.as_mut().unwrap().units = 11,
            |r| r.amount.as_mut().unwrap().currency_code = "EUR".to_owned(),
            |r| r.card.as_mut().unwrap().number = "5555555555554444".to_owned(),
            |r| r.card.as_mut().unwrap().expiry_month = 11,
        ];
        for change in changes {
            let mut other = request();
            change(&mut other);
            assert_ne!(ChargeOrder::parse(&other).unwrap().fingerprint(), base);
        }
    }
}
