//! Orders' rules, as types, with no I/O: the order and where its checkout saga stands
//! ([`order`]), and what a PlaceOrder request must be ([`request`], [`address`], [`card`]),
//! parsed once at the edge with one field violation per bad field named by its proto path
//! (`shipping_address.street_lines[1]`, `card.number`).
//!
//! The contract's own values (request ids, currency codes, money, cards) are parsed by
//! `bazaar_contract::values`; what is orders' alone is built on them here: an empty
//! currency means US dollars, an email must be one a confirmation can be sent to, and an
//! order's saga moves step by step, and what other services say they hold for an order
//! is checked against it ([`evidence`]). The saga ([`crate::saga`]) decides with these types,
//! the store ([`crate::store`]) remembers them.

mod address;
mod card;
mod evidence;
pub mod order;
mod request;
#[cfg(test)]
pub(crate) mod samples;

pub use address::ShippingAddress;
pub use card::CardInput;
pub use evidence::Mismatch;
pub use order::{ChargeStatus, Failure, Item, OrderRecord, Step};
pub use request::{CheckoutInput, Email, RequestedCurrency};

pub use bazaar_contract::values::RequestId;
