//! What goes in a parcel: 1..=100 items of a product (the contract's slug) and 1..=99 units
//! each.

use bazaar_contract::shipping::v1 as pb;
use bazaar_contract::values::ProductId;
use chassis::error::{AtField, FieldViolation};

/// Most items in one parcel.
pub const MAX_ITEMS: usize = 100;
/// Most units of one item.
pub const MAX_QUANTITY: u32 = 99;

/// One item: a product and how many units of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    product_id: String,
    quantity: u32,
}

impl Item {
    /// As the contract's ShipmentItem.
    pub fn to_pb(&self) -> pb::ShipmentItem {
        pb::ShipmentItem {
            product_id: self.product_id.clone(),
            // At most MAX_QUANTITY: fits.
            quantity: self.quantity as i32,
        }
    }
}

/// The items of a parcel, in the order of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Items(Vec<Item>);

impl Items {
    /// Parses the repeated field `field` (`items`); a bad item is named by its index
    /// (`items[1].quantity`).
    pub fn parse(field: &str, items: &[pb::ShipmentItem]) -> Result<Self, Vec<FieldViolation>> {
        if items.is_empty() || items.len() > MAX_ITEMS {
            return Err(vec![FieldViolation::new(
                field,
                format!("must have 1 to {MAX_ITEMS} items"),
            )]);
        }
        let mut violations = Vec::new();
        let mut parsed = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Err(violation) =
                ProductId::parse(&item.product_id).at(&format!("{field}[{i}].product_id"))
            {
                violations.push(violation);
            }
            let quantity = u32::try_from(item.quantity)
                .ok()
                .filter(|q| (1..=MAX_QUANTITY).contains(q));
            match quantity {
                Some(quantity) => parsed.push(Item {
                    product_id: item.product_id.clone(),
                    quantity,
                }),
                None => violations.push(FieldViolation::new(
                    format!("{field}[{i}].quantity"),
                    format!("must be between 1 and {MAX_QUANTITY}"),
                )),
            }
        }
        if violations.is_empty() {
            Ok(Self(parsed))
        } else {
            Err(violations)
        }
    }

    /// The units in the parcel: the sum of the quantities (at most 9,900).
    pub fn total_units(&self) -> u32 {
        self.0.iter().map(|item| item.quantity).sum()
    }

    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Item> {
        self.0.iter()
    }

    /// As the contract's items, in order.
    pub fn to_pb(&self) -> Vec<pb::ShipmentItem> {
        self.0.iter().map(Item::to_pb).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(product_id: &str, quantity: i32) -> pb::ShipmentItem {
        pb::ShipmentItem {
            product_id: product_id.to_owned(),
            quantity,
        }
    }

    fn fields(items: &[pb::ShipmentItem]) -> Vec<String> {
        Items::parse("items", items)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn good_items_add_up() {
        let items = Items::parse(
            "items",
            &[item("lamp", 2), item("lamp", 3), item("0-a", 99)],
        );
        assert_eq!(items.unwrap().total_units(), 104);
        assert!(Items::parse("items", &vec![item("lamp", 99); MAX_ITEMS]).is_ok());
        assert!(Items::parse("items", &[item(&"a".repeat(63), 1)]).is_ok());
        assert_eq!(fields(&[item(&"a".repeat(64), 1)]), ["items[0].product_id"]);
    }

    #[test]
    fn bad_items_are_named_by_index() {
        assert_eq!(fields(&[]), ["items"]);
        assert_eq!(fields(&vec![item("lamp", 1); MAX_ITEMS + 1]), ["items"]);
        assert_eq!(
            fields(&[item("lamp", 1), item("lamp", 0)]),
            ["items[1].quantity"]
        );
        assert_eq!(fields(&[item("lamp", 100)]), ["items[0].quantity"]);
        assert_eq!(fields(&[item("lamp", -1)]), ["items[0].quantity"]);
        for bad in ["", "Lamp", "-lamp", "lamp_1", "lámpa"] {
            assert_eq!(fields(&[item(bad, 1)]), ["items[0].product_id"], "{bad}");
        }
        assert_eq!(
            fields(&[item("ok", 1), item("NO", 0)]),
            ["items[1].product_id", "items[1].quantity"]
        );
    }
}
