//! Card brands as payment stores them: the contract's `CardBrand` enum number. Which
//! brand a number belongs to is the contract's rule (`bazaar_contract::values::card`).

pub use bazaar_contract::payment::v1::CardBrand;

/// The stored code of `brand` (the contract's enum number).
pub fn code(brand: CardBrand) -> i64 {
    i64::from(brand as i32)
}

/// The brand of a stored code; `None` for a code that names no brand.
pub fn from_code(code: i64) -> Option<CardBrand> {
    match i32::try_from(code)
        .ok()
        .and_then(|c| CardBrand::try_from(c).ok())?
    {
        CardBrand::Unspecified => None,
        brand => Some(brand),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for brand in [
            CardBrand::Visa,
            CardBrand::Mastercard,
            CardBrand::AmericanExpress,
            CardBrand::Discover,
            CardBrand::Other,
        ] {
            assert_eq!(from_code(code(brand)), Some(brand));
        }
        assert_eq!(from_code(0), None);
        assert_eq!(from_code(99), None);
        assert_eq!(from_code(i64::MAX), None);
    }
}
