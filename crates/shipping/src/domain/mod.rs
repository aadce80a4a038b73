//! Shipping's rules, as types, with no I/O: a request that exists past the edge is valid.
//!
//! [`address`] and [`items`] parse what is shipped where, [`quote`] prices it with the
//! contract's formula, and [`ShipmentOrder`] is a parsed CreateShipment call with the
//! fingerprint a retry is compared with.

pub mod address;
pub mod items;
pub mod quote;

use bazaar_contract::shipping::v1 as pb;
use bazaar_contract::values::RandomnessError;
use bazaar_contract::values::ids::{SHIPMENT, TRACKING};
use chassis::error::{AtField, FieldViolation, Violations};
use prost::Message;
use sha2::{Digest, Sha256};

pub use address::Address;
pub use items::Items;
pub use quote::Quote;

pub use bazaar_contract::values::{OrderId, RequestId, lookup_id};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShipmentState {
    /// Waiting to leave.
    Created,
    /// Will not be sent. Final.
    Cancelled,
}

impl ShipmentState {
    /// As the contract's enum.
    pub fn to_pb(self) -> pb::ShipmentState {
        match self {
            ShipmentState::Created => pb::ShipmentState::Created,
            ShipmentState::Cancelled => pb::ShipmentState::Cancelled,
        }
    }
}

/// A CreateShipment call, parsed: every field valid.
#[derive(Clone, Debug)]
pub struct ShipmentOrder {
    /// The idempotency key.
    pub request_id: RequestId,
    /// The order shipped.
    pub order_id: OrderId,
    /// Where to.
    pub address: Address,
    /// What.
    pub items: Items,
}

impl ShipmentOrder {
    /// Parses a CreateShipmentRequest, reporting every bad field at once.
    pub fn parse(request: &pb::CreateShipmentRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(&request.request_id).at("request_id"));
        let order_id = violations.check(OrderId::parse(&request.order_id).at("order_id"));
        let address = violations.check(Address::parse("address", request.address.as_ref()));
        let items = violations.check(Items::parse("items", &request.items));
        violations.finish(|| {
            Some(Self {
                request_id: request_id?,
                order_id: order_id?,
                address: address?,
                items: items?,
            })
        })
    }

    /// What a retry must repeat, as hex of a SHA-256 over the order id and the contract's
    /// own encoding of the address (trimmed) and of the items (a `GetQuoteRequest` that
    /// holds only them), each length-prefixed: [`encode_address`] and [`encode_items`],
    /// which is also how they are stored.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for part in [
            self.order_id.as_str().as_bytes(),
            &encode_address(&self.address),
            &encode_items(&self.items),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The stored form of an address: the contract's `Address`, protobuf-encoded.
pub fn encode_address(address: &Address) -> Vec<u8> {
    address.to_pb().encode_to_vec()
}

/// The stored form of items: a `GetQuoteRequest` holding only them, protobuf-encoded.
pub fn encode_items(items: &Items) -> Vec<u8> {
    pb::GetQuoteRequest {
        address: None,
        items: items.to_pb(),
    }
    .encode_to_vec()
}

/// An address as stored, parsed again (`None`: not what this service writes).
pub fn decode_address(bytes: &[u8]) -> Option<Address> {
    let address = bazaar_contract::types::v1::Address::decode(bytes).ok()?;
    Address::parse("address", Some(&address)).ok()
}

/// Items as stored, parsed again (`None`: not what this service writes).
pub fn decode_items(bytes: &[u8]) -> Option<Items> {
    let request = pb::GetQuoteRequest::decode(bytes).ok()?;
    Items::parse("items", &request.items).ok()
}

/// New ids of a shipment: its id (`sh_` and 26 base32 characters, 128 random bits) and its
/// tracking id (`BZ` and 10 Crockford base32 characters, 50 random bits: 12 upper-case
/// letters and digits).
pub fn new_ids() -> Result<(String, String), RandomnessError> {
    Ok((SHIPMENT.generate()?, TRACKING.generate()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::types::v1 as types;

    fn request() -> pb::CreateShipmentRequest {
        pb::CreateShipmentRequest {
            request_id: "req-1".to_owned(),
            order_id: "order-1".to_owned(),
            address: Some(types::Address {
                recipient_name: "Ada".to_owned(),
                street_lines: vec!["1 Main St".to_owned(), "Apt 2".to_owned()],
                city: "Springfield".to_owned(),
                region: String::new(),
                postal_code: "12345".to_owned(),
                country_code: "US".to_owned(),
            }),
            items: vec![pb::ShipmentItem {
                product_id: "lamp".to_owned(),
                quantity: 2,
            }],
        }
    }

    #[test]
    fn fingerprints_ignore_white_space_but_not_content() {
        let base = ShipmentOrder::parse(&request()).unwrap().fingerprint();
        let mut spaced = request();
        spaced.address.as_mut().unwrap().city = "  Springfield ".to_owned();
        assert_eq!(ShipmentOrder::parse(&spaced).unwrap().fingerprint(), base);
        assert_eq!(base.len(), 64);
        let changes: [fn(&mut pb::CreateShipmentRequest); 5] = [
            |r| r.order_id = "order-2".to_owned(),
            |r| r.items[0].quantity = 3,
            |r| r.address.as_mut().unwrap().country_code = "CA".to_owned(),
            // Lines moved between fields hash differently.
            |r| {
                let a = r.address.as_mut().unwrap();
                a.street_lines = vec!["1 Main St".to_owned()];
                a.city = "Apt 2".to_owned();
                a.region = "Springfield".to_owned();
            },
            |r| r.items[0].product_id = "lamps".to_owned(),
        ];
        for change in changes {
            let mut other = request();
            change(&mut other);
            assert_ne!(ShipmentOrder::parse(&other).unwrap().fingerprint(), base);
        }
    }

    #[test]
    fn stored_forms_round_trip() {
        let order = ShipmentOrder::parse(&request()).unwrap();
        assert_eq!(
            decode_address(&encode_address(&order.address)),
            Some(order.address.clone())
        );
        assert_eq!(
            decode_items(&encode_items(&order.items)),
            Some(order.items.clone())
        );
        assert_eq!(decode_address(b"\xff\xff"), None);
    }

    #[test]
    fn ids_have_their_documented_shape() {
        let (id, tracking) = new_ids().unwrap();
        assert!(id.starts_with("sh_") && id.len() == 29);
        assert_eq!(tracking.len(), 12);
        assert!(tracking.starts_with("BZ"));
        assert!(
            tracking
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_ne!(new_ids().unwrap(), new_ids().unwrap());
    }
}
