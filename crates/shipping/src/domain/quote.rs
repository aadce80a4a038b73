//! The shipping price list, as the contract states it.
//!
//! For `n` units in total: 4.99 + 0.99 × n US dollars, free from 10 units; outside the
//! United States, plus a 10.00 surcharge that is never waived. Every amount is a whole
//! number of cents, so the arithmetic is exact on integers and turned into `units` and
//! `nanos` only at the end.

use bazaar_contract::types::v1::Money;

use super::address::Address;
use super::items::Items;

/// Base price, in cents.
pub const BASE_CENTS: i64 = 499;
/// Price per unit, in cents.
pub const PER_UNIT_CENTS: i64 = 99;
/// From this many units, the base and per-unit price are waived.
pub const FREE_FROM_UNITS: u32 = 10;
/// Surcharge outside the United States, in cents; never waived.
pub const INTERNATIONAL_SURCHARGE_CENTS: i64 = 1000;
/// Delivery time within the United States, in days.
pub const DOMESTIC_DAYS: i32 = 3;
/// Delivery time elsewhere, in days.
pub const INTERNATIONAL_DAYS: i32 = 7;

/// What shipping costs and how long it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The cost in US cents.
    pub cost_cents: i64,
    /// Calendar days from creation to delivery.
    pub estimated_delivery_days: i32,
}

impl Quote {
    /// The quote for shipping `items` to `address`.
    pub fn of(address: &Address, items: &Items) -> Self {
        let units = items.total_units();
        let mut cost_cents = if units >= FREE_FROM_UNITS {
            0
        } else {
            BASE_CENTS + PER_UNIT_CENTS * i64::from(units)
        };
        let estimated_delivery_days = if address.is_domestic() {
            DOMESTIC_DAYS
        } else {
            cost_cents += INTERNATIONAL_SURCHARGE_CENTS;
            INTERNATIONAL_DAYS
        };
        Self {
            cost_cents,
            estimated_delivery_days,
        }
    }

    /// The cost as Money in US dollars.
    pub fn cost(&self) -> Money {
        Money {
            currency_code: "USD".to_owned(),
            units: self.cost_cents / 100,
            // 0..=99 cents in nanos fits in an i32.
            nanos: ((self.cost_cents % 100) * 10_000_000) as i32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::shipping::v1::ShipmentItem;
    use bazaar_contract::types::v1 as pb;

    fn to(country: &str) -> Address {
        Address::parse(
            "address",
            Some(&pb::Address {
                recipient_name: "R".to_owned(),
                street_lines: vec!["S".to_owned()],
                city: "C".to_owned(),
                region: String::new(),
                postal_code: "1".to_owned(),
                country_code: country.to_owned(),
            }),
        )
        .unwrap()
    }

    fn units(quantities: &[i32]) -> Items {
        let items: Vec<ShipmentItem> = quantities
            .iter()
            .map(|&quantity| ShipmentItem {
                product_id: "p".to_owned(),
                quantity,
            })
            .collect();
        Items::parse("items", &items).unwrap()
    }

    fn usd(units: i64, nanos: i32) -> Money {
        Money {
            currency_code: "USD".to_owned(),
            units,
            nanos,
        }
    }

    #[test]
    fn the_contracts_examples() {
        let quote = Quote::of(&to("US"), &units(&[2]));
        assert_eq!(quote.cost(), usd(6, 970_000_000));
        assert_eq!(quote.estimated_delivery_days, 3);
        let quote = Quote::of(&to("DE"), &units(&[12]));
        assert_eq!(quote.cost(), usd(10, 0));
        assert_eq!(quote.estimated_delivery_days, 7);
    }

    #[test]
    fn the_formula_at_its_edges() {
        assert_eq!(
            Quote::of(&to("US"), &units(&[1])).cost(),
            usd(5, 980_000_000)
        );
        assert_eq!(
            Quote::of(&to("US"), &units(&[5, 4])).cost(),
            usd(13, 900_000_000)
        );
        assert_eq!(Quote::of(&to("US"), &units(&[5, 5])).cost(), usd(0, 0));
        assert_eq!(Quote::of(&to("US"), &units(&[99; 100])).cost(), usd(0, 0));
        assert_eq!(
            Quote::of(&to("JP"), &units(&[9])).cost(),
            usd(23, 900_000_000)
        );
        assert_eq!(Quote::of(&to("JP"), &units(&[10])).cost(), usd(10, 0));
    }
}
