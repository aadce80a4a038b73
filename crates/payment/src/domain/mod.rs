//! Payment's rules, as types, with no I/O: a request that exists past the edge is valid.
//!
//! [`ChargeOrder`] is a parsed Charge call; [`card`] keeps the card data that must never
//! leak, [`brand`] tells its network; [`money`] checks amounts; [`network`] is the
//! simulated issuer that approves or declines. What a retry is compared with is [`ChargeOrder::fingerprint`]: a SHA-256 of
//! the parameters that holds the card's brand, last four digits and expiry, never its
//! number or CVV.

pub mod brand;
pub mod card;
pub mod money;
pub mod network;

use bazaar_contract::payment::v1 as pb;
use chassis::error::FieldViolation;
use sha2::{Digest, Sha256};

pub use brand::CardBrand;
pub use card::Card;
pub use money::Amount;
pub use network::{DeclineReason, Verdict};

pub use chassis::ids::{RequestId, lookup_id};

/// Id of an order, as orders generated it: 1..=64 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderId(String);

impl OrderId {
    /// Parses the `order_id` field.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        match text.chars().count() {
            0 => Err(FieldViolation::new("order_id", "is required")),
            1..=64 => Ok(Self(text.to_owned())),
            _ => Err(FieldViolation::new(
                "order_id",
                "must be at most 64 characters",
            )),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new charge id: `ch_` and 26 random base32 characters (128 bits).
pub fn new_charge_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(format!("ch_{}", base32(&bytes)))
}

/// RFC 4648 base32, lower case, no padding. Its alphabet has no 0, 1, 8 or 9.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut text = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        text.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    text
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
        let mut violations = Vec::new();
        let request_id = RequestId::parse(&request.request_id)
            .map_err(|v| violations.push(v))
            .ok();
        let order_id = OrderId::parse(&request.order_id)
            .map_err(|v| violations.push(v))
            .ok();
        let amount = Amount::parse("amount", request.amount.as_ref())
            .map_err(|v| violations.extend(v))
            .ok();
        let card = Card::parse(request.card.as_ref())
            .map_err(|v| violations.extend(v))
            .ok();
        match (request_id, order_id, amount, card) {
            (Some(request_id), Some(order_id), Some(amount), Some(card))
                if violations.is_empty() =>
            {
                Ok(Self {
                    request_id,
                    order_id,
                    amount,
                    card,
                })
            }
            _ => Err(violations),
        }
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
            &self.card.brand().code().to_string(),
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
    fn request_ids() {
        assert!(RequestId::parse("a").is_ok());
        assert!(RequestId::parse(&"a".repeat(64)).is_ok());
        assert!(RequestId::parse("3f2a9c1e-0b7d-4e1a-9f3c-2d4b6a8e0c11").is_ok());
        for bad in ["", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(RequestId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_ids() {
        assert!(OrderId::parse(&"é".repeat(64)).is_ok());
        assert!(OrderId::parse("").is_err());
        assert!(OrderId::parse(&"a".repeat(65)).is_err());
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

    #[test]
    fn charge_ids_are_random_base32() {
        let a = new_charge_id().unwrap();
        let b = new_charge_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 26);
        assert!(
            a[3..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
        );
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }
}
