//! The simulated card network: what the issuer answers for a card, as the contract lists
//! it. No money moves; the test card numbers decline or fail on purpose, and every other
//! valid card is approved unless it has expired.

use bazaar_contract::payment::v1 as pb;
use bazaar_contract::values::Card;
use bazaar_contract::values::calendar::YearMonth;

/// Why a card was declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// Declined without a specific reason.
    Generic,
    /// Not enough funds or credit.
    InsufficientFunds,
    /// The card has expired.
    ExpiredCard,
    /// The CVV is wrong.
    IncorrectCvv,
}

impl DeclineReason {
    /// As the contract's enum.
    pub fn to_pb(self) -> pb::DeclineReason {
        match self {
            DeclineReason::Generic => pb::DeclineReason::Generic,
            DeclineReason::InsufficientFunds => pb::DeclineReason::InsufficientFunds,
            DeclineReason::ExpiredCard => pb::DeclineReason::ExpiredCard,
            DeclineReason::IncorrectCvv => pb::DeclineReason::IncorrectCvv,
        }
    }

    /// The stored code (the contract's enum number).
    pub fn code(self) -> i64 {
        i64::from(self.to_pb() as i32)
    }

    /// The reason of a stored code; `None` for 0 (not declined) or an unknown code.
    pub fn from_code(code: i64) -> Option<Self> {
        match i32::try_from(code)
            .ok()
            .and_then(|c| pb::DeclineReason::try_from(c).ok())?
        {
            pb::DeclineReason::Generic => Some(DeclineReason::Generic),
            pb::DeclineReason::InsufficientFunds => Some(DeclineReason::InsufficientFunds),
            pb::DeclineReason::ExpiredCard => Some(DeclineReason::ExpiredCard),
            pb::DeclineReason::IncorrectCvv => Some(DeclineReason::IncorrectCvv),
            pb::DeclineReason::Unspecified => None,
        }
    }

    /// A sentence fit to show to the shopper.
    pub fn message(self) -> &'static str {
        match self {
            DeclineReason::Generic => "Your card was declined. Please use another card.",
            DeclineReason::InsufficientFunds => {
                "Your card was declined: insufficient funds. Please use another card."
            }
            DeclineReason::ExpiredCard => "Your card has expired. Please use another card.",
            DeclineReason::IncorrectCvv => {
                "Your card was declined: the security code (CVV) is incorrect."
            }
        }
    }
}

/// What the issuer answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The amount is charged.
    Approved,
    /// Nothing is charged, for this reason.
    Declined(DeclineReason),
    /// The network failed; nothing is charged, and the same call may be retried.
    ProcessingError,
}

/// The test card that fails with a processing error every time.
pub const PROCESSING_ERROR_CARD: &str = "4000000000000119";

/// Test cards that are declined, and why.
const DECLINING_CARDS: [(&str, DeclineReason); 4] = [
    ("4000000000000002", DeclineReason::Generic),
    ("4000000000009995", DeclineReason::InsufficientFunds),
    ("4000000000000069", DeclineReason::ExpiredCard),
    ("4000000000000127", DeclineReason::IncorrectCvv),
];

/// Asks the (simulated) issuer to charge `card` in month `now`.
pub fn authorize(card: &Card, now: YearMonth) -> Verdict {
    if card.number().is(PROCESSING_ERROR_CARD) {
        return Verdict::ProcessingError;
    }
    if card.expiry().has_passed(now) {
        return Verdict::Declined(DeclineReason::ExpiredCard);
    }
    DECLINING_CARDS
        .iter()
        .find(|(number, _)| card.number().is(number))
        .map_or(Verdict::Approved, |(_, reason)| Verdict::Declined(*reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, month: i32, year: i32) -> Card {
        let cvv = if number.starts_with('3') {
            "1234"
        } else {
            "123"
        };
        Card::parse(&pb::Card {
            number: number.to_owned(),
            expiry_month: month,
            expiry_year: year,
            cvv: cvv.to_owned(),
            holder_name: "A".to_owned(),
        })
        .unwrap()
    }

    #[test]
    fn test_cards_behave_as_documented() {
        let now = YearMonth {
            year: 2030,
            month: 6,
        };
        for number in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
        ] {
            assert_eq!(authorize(&card(number, 6, 2030), now), Verdict::Approved);
        }
        for (number, reason) in DECLINING_CARDS {
            assert_eq!(
                authorize(&card(number, 1, 2031), now),
                Verdict::Declined(reason)
            );
            assert_eq!(DeclineReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(
            authorize(&card(PROCESSING_ERROR_CARD, 1, 2031), now),
            Verdict::ProcessingError
        );
        assert_eq!(
            authorize(&card("4242424242424242", 5, 2030), now),
            Verdict::Declined(DeclineReason::ExpiredCard)
        );
        assert_eq!(DeclineReason::from_code(0), None);
    }
}
