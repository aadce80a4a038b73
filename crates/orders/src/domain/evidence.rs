//! What other services say they hold for an order, checked against the order before the
//! saga builds on it. Payment answers ORDER_ALREADY_CHARGED with the id of whatever charge
//! the order id already has, and shipping ORDER_ALREADY_SHIPPED with whatever shipment it
//! has; anyone who can call those services can make such a charge or shipment first (0.01
//! USD, another address). So orders accepts a charge only if it is a successful charge of
//! this order for exactly its total, in its currency, and a shipment only if it is a live
//! shipment of this order, to its address, of its items. Anything else is a mismatch, a
//! business failure of the checkout, never a payment or a shipment of this order.

use std::collections::BTreeMap;

use bazaar_contract::payment::v1::{Charge, ChargeStatus as PbChargeStatus};
use bazaar_contract::shipping::v1::{Shipment, ShipmentState};
use bazaar_contract::types::v1::{Address, Money};

use super::OrderRecord;

/// Why a charge or a shipment that another service holds is not this order's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl OrderRecord {
    /// `Ok` if `charge` is a successful charge of this order for exactly its total.
    pub fn check_charge(&self, charge: &Charge) -> Result<(), Mismatch> {
        if charge.order_id != self.id {
            return Err(Mismatch(format!(
                "charge {} is for order {:?}",
                charge.id, charge.order_id
            )));
        }
        if charge.status != PbChargeStatus::Succeeded as i32 {
            return Err(Mismatch(format!(
                "charge {} is not SUCCEEDED (status {})",
                charge.id, charge.status
            )));
        }
        match &charge.amount {
            Some(amount) if same_money(amount, &self.total) => Ok(()),
            amount => Err(Mismatch(format!(
                "charge {} is for {}, the order's total is {}",
                charge.id,
                amount.as_ref().map_or_else(|| "no amount".to_owned(), text),
                text(&self.total)
            ))),
        }
    }

    /// `Ok` if `shipment` is a live shipment of this order, to its address, of its items.
    pub fn check_shipment(&self, shipment: &Shipment) -> Result<(), Mismatch> {
        if shipment.order_id != self.id {
            return Err(Mismatch(format!(
                "shipment {} is for order {:?}",
                shipment.id, shipment.order_id
            )));
        }
        if shipment.state == ShipmentState::Cancelled as i32 {
            return Err(Mismatch(format!("shipment {} is cancelled", shipment.id)));
        }
        if !shipment
            .address
            .as_ref()
            .is_some_and(|address| same_address(address, &self.address))
        {
            return Err(Mismatch(format!(
                "shipment {} goes to another address than the order's",
                shipment.id
            )));
        }
        let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
        for item in &self.items {
            *wanted.entry(item.product_id.as_str()).or_default() += i64::from(item.quantity);
        }
        let mut shipped: BTreeMap<&str, i64> = BTreeMap::new();
        for item in &shipment.items {
            *shipped.entry(item.product_id.as_str()).or_default() += i64::from(item.quantity);
        }
        if wanted != shipped {
            return Err(Mismatch(format!(
                "shipment {} holds other items than the order",
                shipment.id
            )));
        }
        Ok(())
    }
}

fn same_money(a: &Money, b: &Money) -> bool {
    a.currency_code == b.currency_code && a.units == b.units && a.nanos == b.nanos
}

fn text(money: &Money) -> String {
    format!("{} {}.{:09}", money.currency_code, money.units, money.nanos)
}

/// The same place: every field equal once trimmed, ignoring case (shipping keeps addresses
/// trimmed; case changes nothing for a carrier).
fn same_address(a: &Address, b: &Address) -> bool {
    let same = |x: &str, y: &str| x.trim().to_lowercase() == y.trim().to_lowercase();
    same(&a.recipient_name, &b.recipient_name)
        && a.street_lines.len() == b.street_lines.len()
        && a.street_lines
            .iter()
            .zip(&b.street_lines)
            .all(|(x, y)| same(x, y))
        && same(&a.city, &b.city)
        && same(&a.region, &b.region)
        && same(&a.postal_code, &b.postal_code)
        && same(&a.country_code, &b.country_code)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::domain::samples;

    fn charge(order: &OrderRecord, amount: Money) -> Charge {
        Charge {
            id: "ch-1".to_owned(),
            order_id: order.id.clone(),
            amount: Some(amount),
            status: PbChargeStatus::Succeeded as i32,
            ..Charge::default()
        }
    }

    fn shipment(order: &OrderRecord) -> Shipment {
        Shipment {
            id: "sh-1".to_owned(),
            order_id: order.id.clone(),
            state: ShipmentState::Created as i32,
            address: Some(order.address.clone()),
            items: order.shipment_items(),
            ..Shipment::default()
        }
    }

    #[test]
    fn only_the_exact_total_is_accepted() {
        let order = samples::order();
        assert_eq!(
            order.check_charge(&charge(&order, order.total.clone())),
            Ok(())
        );
        let mut cheap = order.total.clone();
        cheap.units = 0;
        cheap.nanos = 10_000_000;
        assert!(order.check_charge(&charge(&order, cheap)).is_err());
        let mut other_currency = order.total.clone();
        other_currency.currency_code = "JPY".to_owned();
        assert!(order.check_charge(&charge(&order, other_currency)).is_err());
        let mut other_order = charge(&order, order.total.clone());
        other_order.order_id = "o-other".to_owned();
        assert!(order.check_charge(&other_order).is_err());
        let mut refunded = charge(&order, order.total.clone());
        refunded.status = PbChargeStatus::Refunded as i32;
        assert!(order.check_charge(&refunded).is_err());
        let mut no_amount = charge(&order, order.total.clone());
        no_amount.amount = None;
        assert!(order.check_charge(&no_amount).is_err());
    }

    #[test]
    fn only_a_live_shipment_to_the_address_of_the_items_is_accepted() {
        let order = samples::order();
        assert_eq!(order.check_shipment(&shipment(&order)), Ok(()));
        let mut shouted = shipment(&order);
        if let Some(address) = shouted.address.as_mut() {
            address.city = format!(" {} ", address.city.to_uppercase());
        }
        assert_eq!(order.check_shipment(&shouted), Ok(()));
        let mut elsewhere = shipment(&order);
        if let Some(address) = elsewhere.address.as_mut() {
            address.street_lines = vec!["1 Thief Lane".to_owned()];
        }
        assert!(order.check_shipment(&elsewhere).is_err());
        let mut nowhere = shipment(&order);
        nowhere.address = None;
        assert!(order.check_shipment(&nowhere).is_err());
        let mut fewer = shipment(&order);
        fewer.items[0].quantity += 1;
        assert!(order.check_shipment(&fewer).is_err());
        let mut cancelled = shipment(&order);
        cancelled.state = ShipmentState::Cancelled as i32;
        assert!(order.check_shipment(&cancelled).is_err());
        let mut other_order = shipment(&order);
        other_order.order_id = "o-other".to_owned();
        assert!(order.check_shipment(&other_order).is_err());
    }
}
