//! The carrier's rules: what a deliverable address is, what a parcel holds, and what it
//! costs. No I/O here.

use bazaar_contract::shipping::v1::ShipmentItem;
use bazaar_contract::types::v1::Address;
use chassis::error::FieldViolation;

/// Most items in one parcel.
pub const MAX_ITEMS: usize = 100;
/// Units from which domestic shipping is free.
pub const FREE_FROM_UNITS: i64 = 10;

/// Checks an address field by field, naming violations under `prefix` (`address`), and
/// returns it trimmed.
pub fn address(
    prefix: &str,
    given: Option<&Address>,
    out: &mut Vec<FieldViolation>,
) -> Option<Address> {
    let Some(given) = given else {
        out.push(FieldViolation::new(prefix, "is required"));
        return None;
    };
    let before = out.len();
    let mut text = |field: &str, value: &str, min: usize, max: usize| -> String {
        let value = value.trim();
        let length = value.chars().count();
        if length < min || length > max {
            let rule = if min == 0 {
                format!("must be at most {max} characters")
            } else if length == 0 {
                "is required".to_owned()
            } else {
                format!("must be {min}..={max} characters")
            };
            out.push(FieldViolation::new(format!("{prefix}.{field}"), rule));
        }
        value.to_owned()
    };
    let recipient_name = text("recipient_name", &given.recipient_name, 1, 100);
    let mut street_lines = Vec::new();
    for (i, line) in given.street_lines.iter().enumerate() {
        street_lines.push(text(&format!("street_lines[{i}]"), line, 1, 100));
    }
    let city = text("city", &given.city, 1, 100);
    let region = text("region", &given.region, 0, 100);
    let postal_code = text("postal_code", &given.postal_code, 0, 20);
    if !(1..=3).contains(&given.street_lines.len()) {
        out.push(FieldViolation::new(
            format!("{prefix}.street_lines"),
            "must have 1..=3 lines",
        ));
    }
    let country_code = given.country_code.trim().to_owned();
    if country_code.len() != 2 || !country_code.bytes().all(|b| b.is_ascii_uppercase()) {
        out.push(FieldViolation::new(
            format!("{prefix}.country_code"),
            "must be an ISO 3166-1 alpha-2 code: two upper-case letters",
        ));
    }
    (out.len() == before).then_some(Address {
        recipient_name,
        street_lines,
        city,
        region,
        postal_code,
        country_code,
    })
}

/// Checks the items of a parcel (1..=100, slug ids, quantities 1..=99).
pub fn items(given: &[ShipmentItem], out: &mut Vec<FieldViolation>) -> Option<Vec<ShipmentItem>> {
    let before = out.len();
    if given.is_empty() || given.len() > MAX_ITEMS {
        out.push(FieldViolation::new(
            "items",
            format!("must have 1..={MAX_ITEMS} items"),
        ));
    }
    for (i, item) in given.iter().enumerate() {
        if !is_slug(&item.product_id) {
            out.push(FieldViolation::new(
                format!("items[{i}].product_id"),
                "must match ^[a-z0-9][a-z0-9-]{0,62}$",
            ));
        }
        if !(1..=99).contains(&item.quantity) {
            out.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                "must be 1..=99",
            ));
        }
    }
    (out.len() == before).then(|| given.to_vec())
}

fn is_slug(text: &str) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && text.len() <= 63
}

/// The price of a parcel, in US cents, and its delivery time in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Cost in cents.
    pub cost_cents: i64,
    /// Days to deliver.
    pub delivery_days: i32,
}

/// The documented formula: 4.99 + 0.99 per unit, free from 10 units; 10.00 more and 7 days
/// instead of 3 outside the United States.
pub fn quote(address: &Address, items: &[ShipmentItem]) -> Quote {
    let units: i64 = items.iter().map(|i| i64::from(i.quantity)).sum();
    let domestic = address.country_code == "US";
    let base = if units >= FREE_FROM_UNITS {
        0
    } else {
        499 + 99 * units
    };
    Quote {
        cost_cents: base + if domestic { 0 } else { 1000 },
        delivery_days: if domestic { 3 } else { 7 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(country: &str) -> Address {
        Address {
            recipient_name: "Ada".into(),
            street_lines: vec!["1 Main St".into()],
            city: "Springfield".into(),
            region: String::new(),
            postal_code: "12345".into(),
            country_code: country.into(),
        }
    }

    fn units(n: i32) -> Vec<ShipmentItem> {
        vec![ShipmentItem {
            product_id: "lamp".into(),
            quantity: n,
        }]
    }

    #[test]
    fn the_documented_examples_hold() {
        assert_eq!(
            quote(&to("US"), &units(2)),
            Quote {
                cost_cents: 697,
                delivery_days: 3
            }
        );
        assert_eq!(
            quote(&to("DE"), &units(12)),
            Quote {
                cost_cents: 1000,
                delivery_days: 7
            }
        );
        assert_eq!(quote(&to("US"), &units(9)).cost_cents, 499 + 99 * 9);
        assert_eq!(quote(&to("US"), &units(10)).cost_cents, 0);
    }

    #[test]
    fn addresses_name_every_bad_field() {
        let mut bad = to("usa");
        bad.street_lines = vec![String::new(), "x".into(), "y".into(), "z".into()];
        bad.city = "  ".into();
        let mut out = Vec::new();
        assert!(address("address", Some(&bad), &mut out).is_none());
        let fields: Vec<_> = out.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "address.street_lines[0]",
                "address.city",
                "address.street_lines",
                "address.country_code"
            ]
        );
        let mut out = Vec::new();
        assert!(address("address", Some(&to("US")), &mut out).is_some());
        assert!(out.is_empty());
    }
}
