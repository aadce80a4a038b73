//! Payment cards as the shopper typed them, parsed once and never shown again.
//!
//! The full number and the CVV live only in [`CardNumber`] and [`Cvv`], whose `Debug`
//! prints nothing secret and which have no `Display`: a card can be put in a log line or
//! a panic message by mistake without leaking anything. Only the brand, the last four
//! digits and the expiry ever leave this module.

use bazaar_contract::payment::v1 as pb;
use chassis::error::FieldViolation;

use super::brand::CardBrand;
use crate::clock::YearMonth;

/// A card number (PAN): 12..=19 digits that pass the Luhn check. Never stored, logged or
/// returned: its `Debug` shows the last four digits only.
pub struct CardNumber(String);

impl CardNumber {
    /// Parses what the shopper typed; spaces and hyphens are ignored. The violation never
    /// repeats the number.
    pub fn parse(field: &str, typed: &str) -> Result<Self, FieldViolation> {
        let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let problem = if digits.is_empty() {
            Some("is required")
        } else if !digits.bytes().all(|b| b.is_ascii_digit()) {
            Some("must contain only digits, spaces and hyphens")
        } else if !(12..=19).contains(&digits.len()) {
            Some("must have 12 to 19 digits")
        } else if !luhn_valid(&digits) {
            Some("is not a valid card number (the Luhn check fails)")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(FieldViolation::new(field, problem)),
            None => Ok(Self(digits)),
        }
    }

    /// The brand, from the first digits.
    pub fn brand(&self) -> CardBrand {
        CardBrand::of(&self.0)
    }

    /// The last four digits, the only part ever kept.
    pub fn last4(&self) -> &str {
        // Parsed numbers have at least 12 ASCII digits.
        &self.0[self.0.len() - 4..]
    }

    /// Whether this is exactly the number `digits` (the test cards of the simulator).
    pub(super) fn is(&self, digits: &str) -> bool {
        self.0 == digits
    }
}

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

/// The Luhn (mod 10) check of a string of ASCII digits.
fn luhn_valid(digits: &str) -> bool {
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

/// A card verification value: 3 digits, 4 for American Express. Never stored, logged or
/// returned; its `Debug` shows nothing of it.
pub struct Cvv(#[allow(dead_code)] String);

impl std::fmt::Debug for Cvv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cvv(<redacted>)")
    }
}

impl Cvv {
    /// Parses a CVV for a card of `brand` (`None` when the number itself is bad: then
    /// 3 or 4 digits are accepted, so only the number is reported).
    fn parse(field: &str, typed: &str, brand: Option<CardBrand>) -> Result<Self, FieldViolation> {
        let digits = !typed.is_empty() && typed.bytes().all(|b| b.is_ascii_digit());
        let length_ok = match brand {
            Some(brand) => typed.len() == brand.cvv_len(),
            None => matches!(typed.len(), 3 | 4),
        };
        if typed.is_empty() {
            Err(FieldViolation::new(field, "is required"))
        } else if !digits || !length_ok {
            let expected = match brand {
                Some(CardBrand::AmericanExpress) => "must be 4 digits for American Express",
                Some(_) => "must be 3 digits",
                None => "must be 3 digits, or 4 for American Express",
            };
            Err(FieldViolation::new(field, expected))
        } else {
            Ok(Self(typed.to_owned()))
        }
    }
}

/// The expiry month printed on a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    year: i32,
    month: u32,
}

impl Expiry {
    /// The year, 2000..=2099.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Whether the card has expired in `now`: a card is good through its expiry month.
    pub fn has_passed(self, now: YearMonth) -> bool {
        (self.year, self.month) < (now.year, now.month)
    }
}

/// A card, every field checked. Its `Debug` shows brand, last four digits and expiry only.
pub struct Card {
    number: CardNumber,
    expiry: Expiry,
    #[allow(dead_code)] // Checked for shape only: the simulated network has no CVV on file.
    cvv: Cvv,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("brand", &self.brand())
            .field("last4", &self.last4())
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl Card {
    /// Parses the `card` field; one violation per bad sub-field (`card.number`, ...).
    pub fn parse(card: Option<&pb::Card>) -> Result<Self, Vec<FieldViolation>> {
        let Some(card) = card else {
            return Err(vec![FieldViolation::new("card", "is required")]);
        };
        let mut violations = Vec::new();
        let number = CardNumber::parse("card.number", &card.number)
            .map_err(|v| violations.push(v))
            .ok();
        let month = u32::try_from(card.expiry_month)
            .ok()
            .filter(|m| (1..=12).contains(m));
        if month.is_none() {
            violations.push(FieldViolation::new(
                "card.expiry_month",
                "must be between 1 and 12",
            ));
        }
        let year = Some(card.expiry_year).filter(|y| (2000..=2099).contains(y));
        if year.is_none() {
            violations.push(FieldViolation::new(
                "card.expiry_year",
                "must be a four-digit year between 2000 and 2099",
            ));
        }
        let cvv = Cvv::parse(
            "card.cvv",
            &card.cvv,
            number.as_ref().map(CardNumber::brand),
        )
        .map_err(|v| violations.push(v))
        .ok();
        let holder = card.holder_name.trim().chars().count();
        if holder == 0 {
            violations.push(FieldViolation::new("card.holder_name", "is required"));
        } else if holder > 100 {
            violations.push(FieldViolation::new(
                "card.holder_name",
                "must be at most 100 characters",
            ));
        }
        match (number, month, year, cvv, violations.is_empty()) {
            (Some(number), Some(month), Some(year), Some(cvv), true) => Ok(Self {
                number,
                expiry: Expiry { year, month },
                cvv,
            }),
            _ => Err(violations),
        }
    }

    /// The brand.
    pub fn brand(&self) -> CardBrand {
        self.number.brand()
    }

    /// The last four digits of the number.
    pub fn last4(&self) -> &str {
        self.number.last4()
    }

    /// The expiry month.
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    /// The number, for the simulated network's test cards.
    pub(super) fn number(&self) -> &CardNumber {
        &self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, month: i32, year: i32, cvv: &str) -> pb::Card {
        pb::Card {
            number: number.to_owned(),
            expiry_month: month,
            expiry_year: year,
            cvv: cvv.to_owned(),
            holder_name: "Ada Lovelace".to_owned(),
        }
    }

    fn fields(card: &pb::Card) -> Vec<String> {
        Card::parse(Some(card))
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn luhn() {
        for good in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "4000000000000002",
            "4000000000009995",
            "4000000000000069",
            "4000000000000127",
            "4000000000000119",
            "6011111111111117",
            "79927398713",
        ] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in ["4242424242424241", "79927398710", "1234567812345678"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn numbers_ignore_spaces_and_hyphens() {
        let number = CardNumber::parse("n", "4242 4242-4242 4242").unwrap();
        assert_eq!(number.last4(), "4242");
        assert_eq!(number.brand(), CardBrand::Visa);
        for bad in [
            "",
            "  ",
            "4242x4242424242424",
            "42424242424",
            "4242424242424241",
        ] {
            assert!(CardNumber::parse("n", bad).is_err(), "{bad}");
        }
        assert!(CardNumber::parse("n", &"0".repeat(20)).is_err());
    }

    #[test]
    fn bad_cards_name_each_field() {
        assert_eq!(
            fields(&card("4242424242424241", 1, 2030, "123")),
            ["card.number"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 13, 2030, "123")),
            ["card.expiry_month"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 0, 2030, "123")),
            ["card.expiry_month"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 1, 30, "123")),
            ["card.expiry_year"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 1, 2100, "123")),
            ["card.expiry_year"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 1, 2030, "1234")),
            ["card.cvv"]
        );
        assert_eq!(
            fields(&card("4242424242424242", 1, 2030, "12a")),
            ["card.cvv"]
        );
        assert_eq!(
            fields(&card("378282246310005", 1, 2030, "123")),
            ["card.cvv"]
        );
        assert!(Card::parse(Some(&card("378282246310005", 1, 2030, "1234"))).is_ok());
        let mut nameless = card("4242424242424242", 1, 2030, "123");
        nameless.holder_name = "  ".to_owned();
        assert_eq!(fields(&nameless), ["card.holder_name"]);
        let mut empty = card("", 0, 0, "");
        empty.holder_name = String::new();
        assert_eq!(
            fields(&empty),
            [
                "card.number",
                "card.expiry_month",
                "card.expiry_year",
                "card.cvv",
                "card.holder_name"
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_number_or_the_cvv() {
        let card = Card::parse(Some(&card("4000056655665556", 12, 2031, "987"))).unwrap();
        let shown = format!("{card:?} {:?} {:?}", card.number, card.cvv);
        assert!(!shown.contains("4000056655665556"), "{shown}");
        assert!(!shown.contains("987"), "{shown}");
        assert!(shown.contains("5556"), "{shown}");
    }

    #[test]
    fn expiry_is_good_through_its_month() {
        let expiry = Expiry {
            year: 2030,
            month: 6,
        };
        let at = |year, month| YearMonth { year, month };
        assert!(!expiry.has_passed(at(2030, 6)));
        assert!(!expiry.has_passed(at(2029, 12)));
        assert!(expiry.has_passed(at(2030, 7)));
        assert!(expiry.has_passed(at(2031, 1)));
    }
}
