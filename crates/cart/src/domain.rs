//! The rules of a cart, with no I/O.
//!
//! Request fields are parsed once into [`ProductId`], [`Quantity`] and [`RequestId`] (a bad
//! one becomes a [`FieldViolation`] naming the proto field); past that edge they cannot be
//! invalid. Product ids and request ids are the contract's own values
//! (`bazaar_contract::values`); the quantities are the cart's limits. [`Cart`] holds the lines and applies every change the contract allows, refusing
//! with a [`Rejection`] what breaks a limit. A change that alters nothing reports so, and the
//! caller then leaves the cart's version (its etag) alone.

use chassis::error::FieldViolation;
use serde::{Deserialize, Serialize};

pub use bazaar_contract::values::{ProductId, RequestId};

/// Most units in one line.
pub const MAX_QUANTITY: u32 = 99;
/// Most lines (distinct products) in one cart.
pub const MAX_LINES: usize = 100;
/// The least time an AddItem `request_id` is remembered, in milliseconds: the contract
/// promises at least 24 hours (`--request-retention-secs` may say longer).
pub const REQUEST_ID_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A number of units for AddItem: 1..=99.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity(u32);

impl Quantity {
    /// Parses `value` of the request field `field`.
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match u32::try_from(value) {
            Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(Self(n)),
            _ => Err(FieldViolation::new(
                field,
                format!("must be between 1 and {MAX_QUANTITY}"),
            )),
        }
    }

    /// The number of units.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A quantity for SetItemQuantity: 0..=99, where 0 removes the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewQuantity(u32);

impl NewQuantity {
    /// Parses `value` of the request field `field`.
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match u32::try_from(value) {
            Ok(n) if n <= MAX_QUANTITY => Ok(Self(n)),
            _ => Err(FieldViolation::new(
                field,
                format!("must be between 0 and {MAX_QUANTITY}"),
            )),
        }
    }

    /// The number of units.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a change was refused: a limit of the contract. Remembered with an AddItem
/// `request_id`, so a retry gets the same answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// The line would hold more than 99 units.
    LineQuantityLimit,
    /// The cart would hold more than 100 lines.
    CartLineLimit,
}

/// One line of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The product, a valid slug.
    pub product_id: String,
    /// Units, 1..=99.
    pub quantity: u32,
}

/// A cart: lines in the order first added, a version that every change bumps, and when it
/// last changed. A cart that was never written has version 0 and no update time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// Bumped by every change; the store writes only if it is unchanged since the read.
    pub version: i64,
    /// When the cart last changed, in milliseconds since the Unix epoch.
    pub update_time_ms: Option<i64>,
    /// The lines, 0..=100, oldest first, one per product.
    pub lines: Vec<Line>,
}

impl Cart {
    /// The opaque version clients pass back to EmptyCart: the version and the change time,
    /// so that a cart recreated from scratch in a wiped store never matches an old etag.
    pub fn etag(&self) -> String {
        format!("{}-{}", self.version, self.update_time_ms.unwrap_or(0))
    }

    fn position(&self, product: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.product_id == product)
    }

    /// Adds `quantity` units of `product`: to its line, or as a new last line.
    pub fn add(&mut self, product: &ProductId, quantity: Quantity) -> Result<(), Rejection> {
        match self.position(product.as_str()) {
            Some(i) => {
                let total = self.lines[i].quantity + quantity.get();
                if total > MAX_QUANTITY {
                    return Err(Rejection::LineQuantityLimit);
                }
                self.lines[i].quantity = total;
            }
            None => {
                if self.lines.len() >= MAX_LINES {
                    return Err(Rejection::CartLineLimit);
                }
                self.lines.push(Line {
                    product_id: product.as_str().to_owned(),
                    quantity: quantity.get(),
                });
            }
        }
        Ok(())
    }

    /// Sets the quantity of `product`'s line (0 removes it; a new product becomes the last
    /// line). Returns whether anything changed.
    pub fn set(&mut self, product: &ProductId, quantity: NewQuantity) -> Result<bool, Rejection> {
        match (self.position(product.as_str()), quantity.get()) {
            (Some(i), 0) => {
                self.lines.remove(i);
                Ok(true)
            }
            (Some(i), n) => {
                let changed = self.lines[i].quantity != n;
                self.lines[i].quantity = n;
                Ok(changed)
            }
            (None, 0) => Ok(false),
            (None, n) => {
                if self.lines.len() >= MAX_LINES {
                    return Err(Rejection::CartLineLimit);
                }
                self.lines.push(Line {
                    product_id: product.as_str().to_owned(),
                    quantity: n,
                });
                Ok(true)
            }
        }
    }

    /// Removes `product`'s line. Returns whether it was there.
    pub fn remove(&mut self, product: &ProductId) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.product_id != product.as_str());
        self.lines.len() != before
    }

    /// Removes every line. Returns whether there were any.
    pub fn clear(&mut self) -> bool {
        let changed = !self.lines.is_empty();
        self.lines.clear();
        changed
    }

    /// Adds a guest's lines, in their order: each to the line of the same product, capped
    /// at 99 units, or as a new line while the cart has fewer than 100. Returns whether
    /// anything changed and the products that were dropped in whole or in part.
    pub fn merge(&mut self, guest: &[Line]) -> (bool, Vec<String>) {
        let mut changed = false;
        let mut truncated = Vec::new();
        for line in guest {
            match self.position(&line.product_id) {
                Some(i) => {
                    let total = self.lines[i].quantity + line.quantity;
                    if total > MAX_QUANTITY {
                        truncated.push(line.product_id.clone());
                    }
                    let capped = total.min(MAX_QUANTITY);
                    changed |= capped != self.lines[i].quantity;
                    self.lines[i].quantity = capped;
                }
                None if self.lines.len() < MAX_LINES => {
                    self.lines.push(Line {
                        product_id: line.product_id.clone(),
                        quantity: line.quantity.min(MAX_QUANTITY),
                    });
                    changed = true;
                }
                None => truncated.push(line.product_id.clone()),
            }
        }
        (changed, truncated)
    }

    /// Records a change made at `now_ms`: a new version and update time.
    pub fn touch(&mut self, now_ms: i64) {
        self.version += 1;
        self.update_time_ms = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ProductId {
        ProductId::parse(s).unwrap()
    }

    fn q(n: i32) -> Quantity {
        Quantity::parse("quantity", n).unwrap()
    }

    #[test]
    fn quantities_have_bounds() {
        assert!(Quantity::parse("quantity", 0).is_err());
        assert!(Quantity::parse("quantity", 100).is_err());
        assert!(Quantity::parse("quantity", -1).is_err());
        assert_eq!(Quantity::parse("quantity", 99).unwrap().get(), 99);
        assert_eq!(NewQuantity::parse("quantity", 0).unwrap().get(), 0);
        assert!(NewQuantity::parse("quantity", 100).is_err());
    }

    #[test]
    fn adding_grows_a_line_until_the_limit() {
        let mut cart = Cart::default();
        cart.add(&id("a"), q(50)).unwrap();
        cart.add(&id("a"), q(49)).unwrap();
        assert_eq!(cart.lines[0].quantity, 99);
        assert_eq!(cart.add(&id("a"), q(1)), Err(Rejection::LineQuantityLimit));
        assert_eq!(cart.lines.len(), 1);
    }

    #[test]
    fn a_cart_holds_at_most_100_lines() {
        let mut cart = Cart::default();
        for i in 0..100 {
            cart.add(&id(&format!("p{i}")), q(1)).unwrap();
        }
        assert_eq!(cart.add(&id("extra"), q(1)), Err(Rejection::CartLineLimit));
        assert_eq!(
            cart.set(&id("extra"), NewQuantity(1)),
            Err(Rejection::CartLineLimit)
        );
        // An existing line still grows.
        cart.add(&id("p0"), q(1)).unwrap();
    }

    #[test]
    fn set_and_remove_report_changes() {
        let mut cart = Cart::default();
        assert_eq!(cart.set(&id("a"), NewQuantity(0)), Ok(false));
        assert_eq!(cart.set(&id("a"), NewQuantity(3)), Ok(true));
        assert_eq!(cart.set(&id("a"), NewQuantity(3)), Ok(false));
        assert!(!cart.remove(&id("b")));
        assert!(cart.remove(&id("a")));
        assert!(!cart.clear());
    }

    #[test]
    fn merging_caps_lines_and_drops_overflow_in_guest_order() {
        let mut cart = Cart::default();
        for i in 0..99 {
            cart.add(&id(&format!("p{i}")), q(1)).unwrap();
        }
        cart.set(&id("p0"), NewQuantity(90)).unwrap();
        let guest = [
            Line {
                product_id: "p0".into(),
                quantity: 20,
            },
            Line {
                product_id: "new1".into(),
                quantity: 2,
            },
            Line {
                product_id: "new2".into(),
                quantity: 2,
            },
            Line {
                product_id: "p1".into(),
                quantity: 1,
            },
        ];
        let (changed, truncated) = cart.merge(&guest);
        assert!(changed);
        assert_eq!(truncated, ["p0", "new2"]);
        assert_eq!(cart.lines.len(), 100);
        assert_eq!(cart.lines[0].quantity, 99);
        assert_eq!(cart.lines[1].quantity, 2);
        assert_eq!(cart.lines[99].product_id, "new1");
    }

    #[test]
    fn touching_changes_the_etag() {
        let mut cart = Cart::default();
        let before = cart.etag();
        cart.touch(5);
        assert_ne!(cart.etag(), before);
        assert_eq!(cart.version, 1);
    }
}
