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

/// A PENDING order of two lines in euros, about to be charged.
pub(crate) fn order() -> super::OrderRecord {
    use bazaar_contract::orders::v1::OrderState;
    use bazaar_contract::types::v1::Money;

    use super::{ChargeStatus, Item, OrderRecord, Step};

    let eur = |units, nanos| Money {
        currency_code: "EUR".to_owned(),
        units,
        nanos,
    };
    let item = |product: &str, quantity| Item {
        product_id: product.to_owned(),
        name: product.to_owned(),
        picture_uri: String::new(),
        quantity,
        unit_price: eur(10, 0),
    };
    OrderRecord {
        id: "o-1".to_owned(),
        user_id: "user-a".to_owned(),
        state: OrderState::Pending,
        step: Step::Charge,
        failure: None,
        currency: "EUR".to_owned(),
        subtotal: eur(30, 0),
        shipping_cost: eur(4, 990_000_000),
        total: eur(34, 990_000_000),
        items: vec![item("lamp", 2), item("mug", 1)],
        reservation_attempt: 1,
        reservation_id: "res-1".to_owned(),
        charge_status: ChargeStatus::Attempting,
        charge_started_ms: 1,
        charge_id: String::new(),
        shipment_id: String::new(),
        tracking_id: String::new(),
        address: Address {
            recipient_name: "Ada".to_owned(),
            ..address()
        },
        email: "ada@example.com".to_owned(),
        estimated_delivery_days: 3,
        cart_etag: String::new(),
        create_time_ms: 1,
        update_time_ms: 1,
    }
}
