//! Postal addresses (`bazaar.type.v1.Address`), parsed once: trimmed, every field within
//! its limits.

use bazaar_contract::types::v1 as pb;
use chassis::error::FieldViolation;

/// Longest recipient, street line, city or region, in characters.
pub const MAX_TEXT_CHARS: usize = 100;
/// Longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 20;
/// Most street lines.
pub const MAX_STREET_LINES: usize = 3;

/// An address a parcel can be delivered to. Every field is trimmed and within its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    recipient_name: String,
    street_lines: Vec<String>,
    city: String,
    region: String,
    postal_code: String,
    country_code: String,
}

/// `text` trimmed, if it has `min..=max` characters; otherwise a violation of `field`.
fn bounded(
    field: &str,
    text: &str,
    min: usize,
    max: usize,
    violations: &mut Vec<FieldViolation>,
) -> String {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        violations.push(FieldViolation::new(field, "is required"));
    } else if chars > max {
        violations.push(FieldViolation::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    trimmed.to_owned()
}

impl Address {
    /// Parses the Address at `field` (`address`); one violation per bad sub-field
    /// (`address.street_lines[1]`, `address.country_code`, ...).
    pub fn parse(field: &str, address: Option<&pb::Address>) -> Result<Self, Vec<FieldViolation>> {
        let Some(address) = address else {
            return Err(vec![FieldViolation::new(field, "is required")]);
        };
        let mut violations = Vec::new();
        let recipient_name = bounded(
            &format!("{field}.recipient_name"),
            &address.recipient_name,
            1,
            MAX_TEXT_CHARS,
            &mut violations,
        );
        let lines = &address.street_lines;
        if lines.is_empty() || lines.len() > MAX_STREET_LINES {
            violations.push(FieldViolation::new(
                format!("{field}.street_lines"),
                format!("must have 1 to {MAX_STREET_LINES} lines"),
            ));
        }
        let street_lines = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                bounded(
                    &format!("{field}.street_lines[{i}]"),
                    line,
                    1,
                    MAX_TEXT_CHARS,
                    &mut violations,
                )
            })
            .collect();
        let city = bounded(
            &format!("{field}.city"),
            &address.city,
            1,
            MAX_TEXT_CHARS,
            &mut violations,
        );
        let region = bounded(
            &format!("{field}.region"),
            &address.region,
            0,
            MAX_TEXT_CHARS,
            &mut violations,
        );
        let postal_code = bounded(
            &format!("{field}.postal_code"),
            &address.postal_code,
            0,
            MAX_POSTAL_CODE_CHARS,
            &mut violations,
        );
        let country_code = address.country_code.trim().to_owned();
        if country_code.is_empty() {
            violations.push(FieldViolation::new(
                format!("{field}.country_code"),
                "is required",
            ));
        } else if country_code.len() != 2 || !country_code.bytes().all(|b| b.is_ascii_uppercase()) {
            violations.push(FieldViolation::new(
                format!("{field}.country_code"),
                "must be an ISO 3166-1 alpha-2 code: two upper-case letters, for example US",
            ));
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(Self {
            recipient_name,
            street_lines,
            city,
            region,
            postal_code,
            country_code,
        })
    }

    /// Whether the parcel stays in the United States.
    pub fn is_domestic(&self) -> bool {
        self.country_code == "US"
    }

    /// As the contract's Address.
    pub fn to_pb(&self) -> pb::Address {
        pb::Address {
            recipient_name: self.recipient_name.clone(),
            street_lines: self.street_lines.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country_code: self.country_code.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn address() -> pb::Address {
        pb::Address {
            recipient_name: "Ada Lovelace".to_owned(),
            street_lines: vec!["1600 Amphitheatre Pkwy".to_owned()],
            city: "Mountain View".to_owned(),
            region: "CA".to_owned(),
            postal_code: "94043".to_owned(),
            country_code: "US".to_owned(),
        }
    }

    fn fields(address: &pb::Address) -> Vec<String> {
        Address::parse("address", Some(address))
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn good_addresses_are_trimmed() {
        let mut typed = address();
        typed.recipient_name = "  Ada Lovelace ".to_owned();
        typed.street_lines = vec![" a ".to_owned(), "b".to_owned(), "é".repeat(100)];
        typed.region = String::new();
        typed.postal_code = String::new();
        let parsed = Address::parse("address", Some(&typed)).unwrap();
        assert_eq!(parsed.to_pb().recipient_name, "Ada Lovelace");
        assert_eq!(parsed.to_pb().street_lines[0], "a");
        assert!(parsed.is_domestic());
        typed.country_code = "DE".to_owned();
        assert!(
            !Address::parse("address", Some(&typed))
                .unwrap()
                .is_domestic()
        );
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            Address::parse("shipping_address", None)
                .unwrap_err()
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>(),
            ["shipping_address"]
        );
        type Change = fn(&mut pb::Address);
        let cases: [(Change, &[&str]); 12] = [
            (
                |a| a.recipient_name = " ".to_owned(),
                &["address.recipient_name"],
            ),
            (
                |a| a.recipient_name = "x".repeat(101),
                &["address.recipient_name"],
            ),
            (|a| a.street_lines.clear(), &["address.street_lines"]),
            (
                |a| a.street_lines = vec!["a".to_owned(); 4],
                &["address.street_lines"],
            ),
            (
                |a| a.street_lines = vec!["a".to_owned(), "  ".to_owned()],
                &["address.street_lines[1]"],
            ),
            (|a| a.city = String::new(), &["address.city"]),
            (|a| a.region = "r".repeat(101), &["address.region"]),
            (|a| a.postal_code = "9".repeat(21), &["address.postal_code"]),
            (
                |a| a.country_code = String::new(),
                &["address.country_code"],
            ),
            (
                |a| a.country_code = "us".to_owned(),
                &["address.country_code"],
            ),
            (
                |a| a.country_code = "USA".to_owned(),
                &["address.country_code"],
            ),
            (
                |a| {
                    a.city = String::new();
                    a.country_code = "1X".to_owned();
                },
                &["address.city", "address.country_code"],
            ),
        ];
        for (change, expected) in cases {
            let mut bad = address();
            change(&mut bad);
            assert_eq!(fields(&bad), expected);
        }
    }
}
