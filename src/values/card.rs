//! Payment cards as the shopper typed them (`bazaar.payment.v1.Card`), parsed once and
//! never shown again.
//!
//! Orders checks a card before it starts a checkout, payment before it charges; both parse
//! it here, so a bad card is refused with the same words by either. What a service then does
//! with a valid card is its own policy: payment declines one whose expiry has passed, orders
//! only passes it on.
//!
//! The full number and the CVV live only in [`CardNumber`] and [`Cvv`], whose `Debug`
//! prints nothing secret and which have no `Display`: a card can be put in a log line or a
//! panic message by mistake without leaking anything. Only the brand, the last four digits
//! and the expiry ever leave this module.

use super::ValueError;
use super::calendar::YearMonth;
use crate::payment::v1 as pb;

/// Longest card holder name, in characters (after trimming).
pub const MAX_HOLDER_CHARS: usize = 100;

/// The Luhn (mod 10) check of a string of ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    digits.bytes().all(|b| b.is_ascii_digit()) && sum.is_multiple_of(10)
}

/// A card number (PAN): 12..=19 digits that pass the Luhn check. Its `Debug` shows the
/// last four digits only.
pub struct CardNumber(String);

impl CardNumber {
    /// Parses what the shopper typed; spaces and hyphens are ignored. The error never
    /// repeats the number.
    pub fn parse(typed: &str) -> Result<Self, ValueError> {
        let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            Err(ValueError::required())
        } else if !digits.bytes().all(|b| b.is_ascii_digit()) {
            Err(ValueError::new(
                "must contain only digits, spaces and hyphens",
            ))
        } else if !(12..=19).contains(&digits.len()) {
            Err(ValueError::new("must have 12 to 19 digits"))
        } else if !luhn_valid(&digits) {
            Err(ValueError::new(
                "is not a valid card number (the Luhn check fails)",
            ))
        } else {
            Ok(Self(digits))
        }
    }

    /// The brand (network), from the first digits: 4 Visa; 51-55 and 2221-2720
    /// Mastercard; 34 and 37 American Express; 6011, 644-649 and 65 Discover.
    pub fn brand(&self) -> pb::CardBrand {
        let prefix = |n: usize| self.0.get(..n).and_then(|p| p.parse::<u32>().ok());
        match (prefix(1), prefix(2), prefix(3), prefix(4)) {
            (Some(4), ..) => pb::CardBrand::Visa,
            (_, Some(51..=55), ..) | (.., Some(2221..=2720)) => pb::CardBrand::Mastercard,
            (_, Some(34 | 37), ..) => pb::CardBrand::AmericanExpress,
            (.., Some(6011)) | (_, _, Some(644..=649), _) | (_, Some(65), ..) => {
                pb::CardBrand::Discover
            }
            _ => pb::CardBrand::Other,
        }
    }

    /// The last four digits, the only part ever kept.
    pub fn last4(&self) -> &str {
        // Parsed numbers have at least 12 ASCII digits.
        &self.0[self.0.len() - 4..]
    }

    /// Whether this is exactly the number `digits` (a test card of a simulated network).
    pub fn is(&self, digits: &str) -> bool {
        self.0 == digits
    }
}

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

/// The length of the CVV of a card of `brand`: 4 for American Express, 3 for the others.
pub fn cvv_len(brand: pb::CardBrand) -> usize {
    match brand {
        pb::CardBrand::AmericanExpress => 4,
        _ => 3,
    }
}

/// A card verification value: 3 digits, 4 for American Express. Its `Debug` shows nothing
/// of it.
pub struct Cvv(#[allow(dead_code)] String);

impl std::fmt::Debug for Cvv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cvv(<redacted>)")
    }
}

impl Cvv {
    /// Parses a CVV for a card of `brand` (`None` when the number itself is bad: then 3 or
    /// 4 digits are accepted, so that only the number is reported).
    pub fn parse(typed: &str, brand: Option<pb::CardBrand>) -> Result<Self, ValueError> {
        let digits = typed.bytes().all(|b| b.is_ascii_digit());
        let length_ok = match brand {
            Some(brand) => typed.len() == cvv_len(brand),
            None => matches!(typed.len(), 3 | 4),
        };
        if typed.is_empty() {
            Err(ValueError::required())
        } else if !digits || !length_ok {
            Err(ValueError::new(match brand {
                Some(pb::CardBrand::AmericanExpress) => "must be 4 digits for American Express",
                Some(_) => "must be 3 digits",
                None => "must be 3 digits, or 4 for American Express",
            }))
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

    /// Whether the card has expired in the month `now`: a card is good through its expiry
    /// month.
    pub fn has_passed(self, now: YearMonth) -> bool {
        (self.year, self.month) < (now.year, now.month)
    }
}

/// A card, every field checked. Its `Debug` shows brand, last four digits and expiry only;
/// the holder's name is checked and not kept.
pub struct Card {
    number: CardNumber,
    expiry: Expiry,
    #[allow(dead_code)] // Checked for shape only: no network here keeps a CVV on file.
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
    /// Parses a card; every bad sub-field is reported (`number`, `expiry_month`,
    /// `expiry_year`, `cvv`, `holder_name`).
    pub fn parse(card: &pb::Card) -> Result<Self, Vec<ValueError>> {
        let mut problems = Vec::new();
        let number = CardNumber::parse(&card.number)
            .map_err(|e| problems.push(e.blaming("number")))
            .ok();
        let month = u32::try_from(card.expiry_month)
            .ok()
            .filter(|m| (1..=12).contains(m));
        if month.is_none() {
            problems.push(ValueError::in_sub_field(
                "expiry_month",
                "must be between 1 and 12",
            ));
        }
        let year = Some(card.expiry_year).filter(|y| (2000..=2099).contains(y));
        if year.is_none() {
            problems.push(ValueError::in_sub_field(
                "expiry_year",
                "must be a four-digit year between 2000 and 2099",
            ));
        }
        let cvv = Cvv::parse(&card.cvv, number.as_ref().map(CardNumber::brand))
            .map_err(|e| problems.push(e.blaming("cvv")))
            .ok();
        let holder = card.holder_name.trim().chars().count();
        if holder == 0 {
            problems.push(ValueError::required().blaming("holder_name"));
        } else if holder > MAX_HOLDER_CHARS {
            problems.push(ValueError::in_sub_field(
                "holder_name",
                "must be at most 100 characters",
            ));
        }
        match (number, month, year, cvv) {
            (Some(number), Some(month), Some(year), Some(cvv)) if problems.is_empty() => Ok(Self {
                number,
                expiry: Expiry { year, month },
                cvv,
            }),
            _ => Err(problems),
        }
    }

    /// The network the number belongs to, read from its first digits
    /// ([`CardNumber::brand`]).
    pub fn brand(&self) -> pb::CardBrand {
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

    /// The whole number: charge with it, but store and show only [`Self::last4`].
    pub fn number(&self) -> &CardNumber {
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

    fn sub_fields(card: &pb::Card) -> Vec<String> {
        Card::parse(card)
            .unwrap_err()
            .iter()
            .map(|e| e.sub_field().to_owned())
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
            "6011111111111117",
            "79927398713",
        ] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in [
            "4242424242424241",
            "79927398710",
            "1234567812345678",
            "42a2",
        ] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn one_wrong_digit_always_fails_the_luhn_check() {
        // A property loop: changing any single digit of a valid number breaks the check.
        for number in ["4242424242424242", "378282246310005", "6011111111111117"] {
            for position in 0..number.len() {
                for digit in b'0'..=b'9' {
                    let mut bytes = number.as_bytes().to_vec();
                    if bytes[position] == digit {
                        continue;
                    }
                    bytes[position] = digit;
                    let changed = String::from_utf8(bytes).unwrap();
                    assert!(!luhn_valid(&changed), "{changed}");
                }
            }
        }
    }

    #[test]
    fn numbers_ignore_spaces_and_hyphens() {
        let number = CardNumber::parse("4242 4242-4242 4242").unwrap();
        assert_eq!(number.last4(), "4242");
        assert_eq!(number.brand(), pb::CardBrand::Visa);
        assert!(number.is("4242424242424242"));
        assert_eq!(CardNumber::parse("  ").unwrap_err(), ValueError::required());
        for bad in ["4242x4242424242424", "42424242424", "4242424242424241"] {
            assert!(CardNumber::parse(bad).is_err(), "{bad}");
        }
        assert!(CardNumber::parse(&"0".repeat(20)).is_err());
    }

    #[test]
    fn brands() {
        for (number, brand) in [
            ("4242424242424242", pb::CardBrand::Visa),
            ("5555555555554444", pb::CardBrand::Mastercard),
            ("5105105105105100", pb::CardBrand::Mastercard),
            ("2221000000000009", pb::CardBrand::Mastercard),
            ("2720990000000007", pb::CardBrand::Mastercard),
            ("378282246310005", pb::CardBrand::AmericanExpress),
            ("341111111111111", pb::CardBrand::AmericanExpress),
            ("6011111111111117", pb::CardBrand::Discover),
            ("6445644564456445", pb::CardBrand::Discover),
            ("6500000000000002", pb::CardBrand::Discover),
            ("3530111333300000", pb::CardBrand::Other),
            ("2721000000000004", pb::CardBrand::Other),
            ("5000000000000009", pb::CardBrand::Other),
        ] {
            assert_eq!(
                CardNumber::parse(number).unwrap().brand(),
                brand,
                "{number}"
            );
        }
    }

    #[test]
    fn bad_cards_name_each_sub_field() {
        assert_eq!(
            sub_fields(&card("4242424242424241", 1, 2030, "123")),
            ["number"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 13, 2030, "123")),
            ["expiry_month"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 0, 2030, "123")),
            ["expiry_month"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 1, 30, "123")),
            ["expiry_year"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 1, 2100, "123")),
            ["expiry_year"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 1, 2030, "1234")),
            ["cvv"]
        );
        assert_eq!(
            sub_fields(&card("4242424242424242", 1, 2030, "12a")),
            ["cvv"]
        );
        assert_eq!(
            sub_fields(&card("378282246310005", 1, 2030, "123")),
            ["cvv"]
        );
        assert!(Card::parse(&card("378282246310005", 1, 2030, "1234")).is_ok());
        // A bad number leaves the CVV's length open: only the number is reported.
        assert_eq!(
            sub_fields(&card("4242424242424241", 1, 2030, "1234")),
            ["number"]
        );
        let mut nameless = card("4242424242424242", 1, 2030, "123");
        nameless.holder_name = "  ".to_owned();
        assert_eq!(sub_fields(&nameless), ["holder_name"]);
        nameless.holder_name = "x".repeat(101);
        assert_eq!(sub_fields(&nameless), ["holder_name"]);
        let mut empty = card("", 0, 0, "");
        empty.holder_name = String::new();
        assert_eq!(
            sub_fields(&empty),
            [
                "number",
                "expiry_month",
                "expiry_year",
                "cvv",
                "holder_name"
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_number_or_the_cvv() {
        let card = Card::parse(&card("4000056655665556", 12, 2031, "987")).unwrap();
        let shown = format!("{card:?} {:?} {:?}", card.number, card.cvv);
        assert!(!shown.contains("4000056655665556"), "{shown}");
        assert!(!shown.contains("987"), "{shown}");
        assert!(shown.contains("5556"), "{shown}");
        let bad = CardNumber::parse("4242424242424241").unwrap_err();
        assert!(!bad.to_string().contains("4242"));
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
