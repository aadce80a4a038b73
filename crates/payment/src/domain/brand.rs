//! Card brands (networks), told apart by the first digits of the number.

use bazaar_contract::payment::v1 as pb;

/// Brand (network) of a card, from the first digits of its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardBrand {
    /// Numbers starting with 4.
    Visa,
    /// 51-55, 2221-2720.
    Mastercard,
    /// 34, 37.
    AmericanExpress,
    /// 6011, 644-649, 65.
    Discover,
    /// Anything else.
    Other,
}

impl CardBrand {
    /// The brand of a number of ASCII digits.
    pub(super) fn of(digits: &str) -> Self {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        match (prefix(1), prefix(2), prefix(3), prefix(4)) {
            (Some(4), ..) => CardBrand::Visa,
            (_, Some(51..=55), ..) | (.., Some(2221..=2720)) => CardBrand::Mastercard,
            (_, Some(34 | 37), ..) => CardBrand::AmericanExpress,
            (.., Some(6011)) | (_, _, Some(644..=649), _) | (_, Some(65), ..) => {
                CardBrand::Discover
            }
            _ => CardBrand::Other,
        }
    }

    /// The length of this brand's CVV.
    pub(super) fn cvv_len(self) -> usize {
        match self {
            CardBrand::AmericanExpress => 4,
            _ => 3,
        }
    }

    /// As the contract's enum.
    pub fn to_pb(self) -> pb::CardBrand {
        match self {
            CardBrand::Visa => pb::CardBrand::Visa,
            CardBrand::Mastercard => pb::CardBrand::Mastercard,
            CardBrand::AmericanExpress => pb::CardBrand::AmericanExpress,
            CardBrand::Discover => pb::CardBrand::Discover,
            CardBrand::Other => pb::CardBrand::Other,
        }
    }

    /// The stored code (the contract's enum number).
    pub fn code(self) -> i64 {
        i64::from(self.to_pb() as i32)
    }

    /// The brand of a stored code.
    pub fn from_code(code: i64) -> Option<Self> {
        match i32::try_from(code)
            .ok()
            .and_then(|c| pb::CardBrand::try_from(c).ok())?
        {
            pb::CardBrand::Visa => Some(CardBrand::Visa),
            pb::CardBrand::Mastercard => Some(CardBrand::Mastercard),
            pb::CardBrand::AmericanExpress => Some(CardBrand::AmericanExpress),
            pb::CardBrand::Discover => Some(CardBrand::Discover),
            pb::CardBrand::Other => Some(CardBrand::Other),
            pb::CardBrand::Unspecified => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands() {
        for (number, brand) in [
            ("4242424242424242", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("5105105105105100", CardBrand::Mastercard),
            ("2221000000000009", CardBrand::Mastercard),
            ("2720990000000007", CardBrand::Mastercard),
            ("378282246310005", CardBrand::AmericanExpress),
            ("341111111111111", CardBrand::AmericanExpress),
            ("6011111111111117", CardBrand::Discover),
            ("6445644564456445", CardBrand::Discover),
            ("6500000000000002", CardBrand::Discover),
            ("3530111333300000", CardBrand::Other),
            ("2721000000000004", CardBrand::Other),
            ("5000000000000009", CardBrand::Other),
        ] {
            assert_eq!(CardBrand::of(number), brand, "{number}");
            assert_eq!(CardBrand::from_code(brand.code()), Some(brand));
        }
    }
}
