//! The shipping address of a checkout, within the limits of `bazaar.type.v1.Address`.

use bazaar_contract::types::v1::Address;
use chassis::error::FieldViolation;

/// A shipping address within the limits of `bazaar.type.v1.Address`, every field trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingAddress(Address);

impl ShippingAddress {
    /// Parses `shipping_address`; every bad field is added to `violations`.
    pub fn parse(address: Option<&Address>, violations: &mut Vec<FieldViolation>) -> Option<Self> {
        let Some(address) = address else {
            violations.push(FieldViolation::new("shipping_address", "is required"));
            return None;
        };
        let before = violations.len();
        let mut text = |name: &str, value: &str, min: usize, max: usize| -> String {
            let value = value.trim();
            let length = value.chars().count();
            if length < min || length > max {
                let description = if length == 0 {
                    "is required".to_owned()
                } else {
                    format!("must be {min}..={max} characters")
                };
                violations.push(FieldViolation::new(
                    format!("shipping_address.{name}"),
                    description,
                ));
            }
            value.to_owned()
        };
        let recipient_name = text("recipient_name", &address.recipient_name, 1, 100);
        let city = text("city", &address.city, 1, 100);
        let region = text("region", &address.region, 0, 100);
        let postal_code = text("postal_code", &address.postal_code, 0, 20);
        let street_lines: Vec<String> = address
            .street_lines
            .iter()
            .enumerate()
            .map(|(i, line)| text(&format!("street_lines[{i}]"), line, 1, 100))
            .collect();
        if street_lines.is_empty() || street_lines.len() > 3 {
            violations.push(FieldViolation::new(
                "shipping_address.street_lines",
                "must have 1..=3 lines",
            ));
        }
        let country_code = address.country_code.trim().to_owned();
        if country_code.len() != 2 || !country_code.bytes().all(|b| b.is_ascii_uppercase()) {
            violations.push(FieldViolation::new(
                "shipping_address.country_code",
                "must be an ISO 3166-1 alpha-2 code, two upper-case letters",
            ));
        }
        (violations.len() == before).then_some(Self(Address {
            recipient_name,
            street_lines,
            city,
            region,
            postal_code,
            country_code,
        }))
    }

    /// The address, as the contract's message.
    pub fn as_pb(&self) -> &Address {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::address;

    #[test]
    fn addresses_are_trimmed_and_checked_field_by_field() {
        let mut violations = Vec::new();
        let parsed = ShippingAddress::parse(Some(&address()), &mut violations).unwrap();
        assert_eq!(parsed.as_pb().recipient_name, "Ada");
        let mut bad = address();
        bad.street_lines = vec!["ok".to_owned(), " ".to_owned()];
        bad.country_code = "us".to_owned();
        bad.postal_code = "1".repeat(21);
        let mut violations = Vec::new();
        assert!(ShippingAddress::parse(Some(&bad), &mut violations).is_none());
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "shipping_address.postal_code",
                "shipping_address.street_lines[1]",
                "shipping_address.country_code"
            ]
        );
    }
}
