//! The card of a checkout: checked as payment will check it, kept only in memory, never
//! shown.

use bazaar_contract::payment::v1::Card;
use bazaar_contract::values::{self, ValueError};
use chassis::error::{AtField, FieldViolation};

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
    /// Parses `card` as payment will (`bazaar_contract::values::Card`); every bad field is
    /// added to `violations`.
    pub fn parse(card: Option<&Card>, violations: &mut Vec<FieldViolation>) -> Option<Self> {
        let Some(card) = card else {
            violations.push(FieldViolation::of_value("card", &ValueError::required()));
            return None;
        };
        match values::Card::parse(card).at("card") {
            Ok(_) => Some(Self(card.clone())),
            Err(bad) => {
                violations.extend(bad);
                None
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::card;

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
