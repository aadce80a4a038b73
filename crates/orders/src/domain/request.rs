//! A PlaceOrder request, parsed: past [`CheckoutInput::parse`] nothing is invalid, and
//! [`CheckoutInput::fingerprint`] is what a retry with the same request id must repeat.

use bazaar_contract::orders::v1::PlaceOrderRequest;
use bazaar_contract::values::{CurrencyCode, RequestId};
use chassis::error::{AtField, FieldViolation};
use sha2::{Digest, Sha256};

use super::{CardInput, ShippingAddress};

/// An email address: 3..=254 characters, one "@", non-empty on both sides, no spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses `email` (surrounding white space removed).
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FieldViolation::new("email", "is required"));
        }
        let length = text.chars().count();
        let valid = (3..=254).contains(&length)
            && !text.chars().any(char::is_whitespace)
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(FieldViolation::new(
                "email",
                "must be 3..=254 characters with one \"@\" and text on both sides",
            ))
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The currency an order is asked in: an ISO 4217 code, or US dollars when left empty.
/// Whether it is supported is the currency service's to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestedCurrency(CurrencyCode);

impl RequestedCurrency {
    /// Parses `currency_code`.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        if text.is_empty() {
            Ok(Self(CurrencyCode::USD))
        } else {
            CurrencyCode::parse(text).at("currency_code").map(Self)
        }
    }

    /// The currency to price the order in: US dollars when none was asked.
    pub fn code(self) -> CurrencyCode {
        self.0
    }
}

/// A PlaceOrder request, parsed.
#[derive(Clone, Debug)]
pub struct CheckoutInput {
    /// The idempotency key.
    pub request_id: RequestId,
    /// Where to ship.
    pub address: ShippingAddress,
    /// Where to confirm.
    pub email: Email,
    /// What to charge.
    pub card: CardInput,
    /// The currency asked for.
    pub currency: RequestedCurrency,
}

impl CheckoutInput {
    /// Parses every field, reporting every bad one at once.
    pub fn parse(request: &PlaceOrderRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let request_id = RequestId::parse(&request.request_id)
            .at("request_id")
            .map_err(|v| violations.push(v))
            .ok();
        let address = ShippingAddress::parse(request.shipping_address.as_ref(), &mut violations);
        let email = Email::parse(&request.email)
            .map_err(|v| violations.push(v))
            .ok();
        let card = CardInput::parse(request.card.as_ref(), &mut violations);
        let currency = RequestedCurrency::parse(&request.currency_code)
            .map_err(|v| violations.push(v))
            .ok();
        match (request_id, address, email, card, currency) {
            (Some(request_id), Some(address), Some(email), Some(card), Some(currency))
                if violations.is_empty() =>
            {
                Ok(Self {
                    request_id,
                    address,
                    email,
                    card,
                    currency,
                })
            }
            _ => Err(violations),
        }
    }

    /// A digest of the parameters a retry must repeat: the address, the email, the
    /// currency and the card's public part (never its number or CVV). A retry whose
    /// digest differs reuses the request id for another checkout.
    pub fn fingerprint(&self) -> String {
        let address = self.address.as_pb();
        let mut hasher = Sha256::new();
        for part in [
            address.recipient_name.as_str(),
            &address.street_lines.join("\u{1f}"),
            &address.city,
            &address.region,
            &address.postal_code,
            &address.country_code,
            self.email.as_str(),
            self.currency.code().as_str(),
            &self.card.public_part(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0xff]);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::{address, card};

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" a@b ").unwrap().as_str(), "a@b");
        for bad in [
            "",
            "ab",
            "a@",
            "@b",
            "a@b@c",
            "a b@c",
            &format!("{}@b", "a".repeat(253)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn currency_codes_default_to_usd() {
        let code = |text| RequestedCurrency::parse(text).map(|c| c.code().as_str().to_owned());
        assert_eq!(code(""), Ok("USD".to_owned()));
        assert_eq!(code("EUR"), Ok("EUR".to_owned()));
        assert_eq!(code("eur").unwrap_err().field, "currency_code");
    }

    #[test]
    fn fingerprints_follow_the_parameters_but_not_the_secret_card_data() {
        let request = PlaceOrderRequest {
            request_id: "r1".to_owned(),
            shipping_address: Some(address()),
            email: "a@b".to_owned(),
            card: Some(card()),
            currency_code: String::new(),
        };
        let first = CheckoutInput::parse(&request).unwrap().fingerprint();
        let mut other_cvv = request.clone();
        other_cvv.card.as_mut().unwrap().cvv = "999".to_owned();
        assert_eq!(
            CheckoutInput::parse(&other_cvv).unwrap().fingerprint(),
            first
        );
        let mut other_email = request.clone();
        other_email.email = "c@d".to_owned();
        assert_ne!(
            CheckoutInput::parse(&other_email).unwrap().fingerprint(),
            first
        );
    }
}
