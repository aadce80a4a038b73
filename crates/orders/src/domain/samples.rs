//! A valid shipping address and card, as a PlaceOrder request carries them: the domain's
//! tests start from these and spoil one field at a time.

use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;

/// An address every rule accepts; the recipient's name still needs trimming.
pub(super) fn address() -> Address {
    Address {
        recipient_name: " Ada ".to_owned(),
        street_lines: vec!["1 Main St".to_owned()],
        city: "Springfield".to_owned(),
        region: String::new(),
        postal_code: "12345".to_owned(),
        country_code: "US".to_owned(),
    }
}

/// A test Visa card every rule accepts.
pub(super) fn card() -> Card {
    Card {
        number: "4242 4242 4242 4242".to_owned(),
        expiry_month: 12,
        expiry_year: 2040,
        cvv: "123".to_owned(),
        holder_name: "Ada".to_owned(),
    }
}
