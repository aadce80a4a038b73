//! The card of a checkout: checked as payment would, kept only in memory, never shown.

use bazaar_contract::payment::v1::Card;
use chassis::error::FieldViolation;

/// A well-formed card. It lives only in memory, for the charge: never stored or logged,
/// which is why `Debug` shows nothing of it.
#[derive(Clone)]
pub struct CardInput(Card);

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardInput(<redacted>)")
    }
}

impl CardInput {
    /// Parses `card`; every bad field is added to `violations`.
    pub fn parse(card: Option<&Card>, violations: &mut Vec<FieldViolation>) -> Option<Self> {
        let Some(card) = card else {
            violations.push(FieldViolation::new("card", "is required"));
            return None;
        };
        let before = violations.len();
        let digits: String = card
            .number
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let amex = digits.starts_with("34") || digits.starts_with("37");
        if digits.is_empty() {
            violations.push(FieldViolation::new("card.number", "is required"));
        } else if !(12..=19).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !luhn(&digits)
        {
            violations.push(FieldViolation::new(
                "card.number",
                "must be 12..=19 digits that pass the Luhn check",
            ));
        }
        if !(1..=12).contains(&card.expiry_month) {
            violations.push(FieldViolation::new("card.expiry_month", "must be 1..=12"));
        }
        if !(2000..=2099).contains(&card.expiry_year) {
            violations.push(FieldViolation::new(
                "card.expiry_year",
                "must be a four-digit year, 2000..=2099",
            ));
        }
        let cvv_length = if amex { 4 } else { 3 };
        if card.cvv.len() != cvv_length || !card.cvv.bytes().all(|b| b.is_ascii_digit()) {
            violations.push(FieldViolation::new(
                "card.cvv",
                format!("must be {cvv_length} digits"),
            ));
        }
        let holder = card.holder_name.trim();
        if holder.is_empty() || holder.chars().count() > 100 {
            violations.push(FieldViolation::new(
                "card.holder_name",
                "must be 1..=100 characters",
            ));
        }
        (violations.len() == before).then(|| Self(card.clone()))
    }

    /// The card, as the payment contract's message.
    pub fn as_pb(&self) -> &Card {
        &self.0
    }

    /// What identifies the card without being secret: last four digits, expiry, holder.
    pub(super) fn public_part(&self) -> String {
        let digits: String = self.0.number.chars().filter(char::is_ascii_digit).collect();
        let last4 = &digits[digits.len().saturating_sub(4)..];
        format!(
            "{last4}|{}|{}|{}",
            self.0.expiry_month,
            self.0.expiry_year,
            self.0.holder_name.trim()
        )
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        Card {
            number: "4242 4242 4242 4242".to_owned(),
            expiry_month: 12,
            expiry_year: 2040,
            cvv: "123".to_owned(),
            holder_name: "Ada".to_owned(),
        }
    }

    #[test]
    fn cards_are_checked_and_never_shown() {
        let mut violations = Vec::new();
        let parsed = CardInput::parse(Some(&card()), &mut violations).unwrap();
        assert!(!format!("{parsed:?}").contains("4242"));
        let mut amex = card();
        amex.number = "378282246310005".to_owned();
        let mut violations = Vec::new();
        assert!(CardInput::parse(Some(&amex), &mut violations).is_none());
        assert_eq!(violations[0].field, "card.cvv");
        let mut bad = card();
        bad.number = "4242424242424241".to_owned();
        bad.expiry_month = 13;
        let mut violations = Vec::new();
        assert!(CardInput::parse(Some(&bad), &mut violations).is_none());
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["card.number", "card.expiry_month"]);
    }
}
