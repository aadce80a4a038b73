//! Properties of the contract's value types, over inputs made at random: every parser takes
//! any text without a panic and accepts exactly what its rule says, formats that have an
//! encoder round-trip, and money arithmetic is exact or says why it cannot be.
//!
//! The examples beside each type (`src/values/`) pin the documented edges; these check the
//! rules everywhere else. `PROPTEST_CASES` runs more cases.

use bazaar_contract::types::v1 as pb;
use bazaar_contract::values::ids::{self, Encoding, IdFormat};
use bazaar_contract::values::money::{MAX_NANOS, NANOS_PER_UNIT, split_nanos, total_nanos};
use bazaar_contract::values::{
    CardNumber, CurrencyCode, Money, MoneyError, OrderId, RequestId, Rounding, Slug, ValueError,
    lookup_id, luhn_valid,
};
use proptest::prelude::*;

/// Any text, weighted towards the characters parsers treat specially.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_ .@:/%é€\u{0}\u{7f}\u{200b}\u{0430}-]{0,80}",
        "[a-z0-9-]{0,70}",
        "[A-Z]{0,5}",
        "[0-9 -]{0,25}",
    ]
}

/// Contract `units`, weighted towards the edges of int64.
fn units() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -1_000_000_i64..1_000_000,
        Just(i64::MAX),
        Just(i64::MIN),
        Just(0),
    ]
}

/// Contract `nanos`, weighted towards the edges of their range and of int32.
fn nanos() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        -MAX_NANOS..=MAX_NANOS,
        Just(MAX_NANOS),
        Just(-MAX_NANOS),
        Just(MAX_NANOS + 1),
        Just(i32::MIN),
        Just(0),
    ]
}

/// A valid currency code.
fn code() -> impl Strategy<Value = CurrencyCode> {
    "[A-Z]{3}".prop_map(|text| CurrencyCode::parse(&text).expect("three capitals"))
}

/// Any amount the contract can carry, in `currency`.
fn amount(currency: CurrencyCode) -> impl Strategy<Value = Money> {
    (units(), nanos()).prop_filter_map("parts of one sign, nanos in range", move |(u, n)| {
        Money::new(currency, u, n).ok()
    })
}

/// Decodes base32 written by [`Encoding::encode`] in `alphabet`: the test's own reading of
/// RFC 4648 without padding, to check the encoder against.
fn base32_decode(text: &str, alphabet: &[u8; 32]) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0_u32, 0_u32);
    for c in text.bytes() {
        let value = alphabet.iter().position(|&a| a == c)?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(bytes)
}

proptest! {
    #[test]
    fn currency_codes_are_exactly_three_capitals(text in text()) {
        let valid = text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase());
        match CurrencyCode::parse(&text) {
            Ok(code) => {
                prop_assert!(valid, "{text:?} accepted");
                prop_assert_eq!(code.as_str(), text.as_str());
                prop_assert!([0, 2, 3].contains(&code.minor_digits()));
            }
            Err(error) => {
                prop_assert!(!valid, "{text:?} refused");
                prop_assert_eq!(text.is_empty(), error == ValueError::required());
            }
        }
    }

    #[test]
    fn money_parses_exactly_the_contract_rules(code in text(), units in units(), nanos in nanos()) {
        let message = pb::Money { currency_code: code.clone(), units, nanos };
        let code_ok = CurrencyCode::parse(&code).is_ok();
        let nanos_ok = (-MAX_NANOS..=MAX_NANOS).contains(&nanos);
        let signs_ok = !(units > 0 && nanos < 0 || units < 0 && nanos > 0);
        match Money::parse(&message) {
            Ok(money) => {
                prop_assert!(code_ok && nanos_ok && signs_ok);
                prop_assert_eq!(money.nanos(), total_nanos(units, nanos));
                // What parses is written back as it came.
                prop_assert_eq!(money.to_pb(), Ok(message));
            }
            Err(problems) => {
                prop_assert!(!(code_ok && nanos_ok && signs_ok));
                let blamed: Vec<&str> = problems.iter().map(ValueError::sub_field).collect();
                prop_assert_eq!(blamed.contains(&"currency_code"), !code_ok);
                prop_assert_eq!(blamed.contains(&"nanos"), !(nanos_ok && signs_ok));
            }
        }
    }

    #[test]
    fn nanos_split_back_into_the_parts_they_came_from(units in units(), nanos in -MAX_NANOS..=MAX_NANOS) {
        let nanos = if units > 0 { nanos.abs() } else if units < 0 { -nanos.abs() } else { nanos };
        prop_assert_eq!(split_nanos(total_nanos(units, nanos)), Some((units, nanos)));
    }

    #[test]
    fn any_count_of_nanos_splits_or_says_it_cannot(total in any::<i128>()) {
        match split_nanos(total) {
            Some((units, nanos)) => prop_assert_eq!(total_nanos(units, nanos), total),
            None => prop_assert!(total / NANOS_PER_UNIT > i128::from(i64::MAX)
                || total / NANOS_PER_UNIT < i128::from(i64::MIN)),
        }
    }

    #[test]
    fn sums_and_differences_are_exact(
        (a, b) in code().prop_flat_map(|c| (amount(c), amount(c))),
    ) {
        let sum = a.checked_add(&b).expect("two contract amounts add up in an i128");
        prop_assert_eq!(sum.nanos(), a.nanos() + b.nanos());
        prop_assert_eq!(b.checked_add(&a), Ok(sum));
        prop_assert_eq!(sum.checked_sub(&b), Ok(a));
        prop_assert_eq!(Money::sum(a.currency(), [&a, &b]), Ok(sum));
        // Back into the contract when it fits, an error when it does not: never a wrong
        // number.
        match sum.to_pb() {
            Ok(message) => prop_assert_eq!(Money::parse(&message), Ok(sum)),
            Err(error) => prop_assert_eq!(error, MoneyError::Overflow),
        }
    }

    #[test]
    fn amounts_of_two_currencies_never_mix(a in code(), b in code(), units in units()) {
        prop_assume!(a != b);
        let x = Money::new(a, units, 0).expect("whole units");
        let y = Money::new(b, units, 0).expect("whole units");
        let mismatch = MoneyError::CurrencyMismatch { expected: a, found: b };
        prop_assert_eq!(x.checked_add(&y), Err(mismatch));
        prop_assert_eq!(x.checked_sub(&y), Err(mismatch));
        prop_assert_eq!(x.partial_cmp(&y), None);
        prop_assert_eq!(y.in_currency(a), Err(mismatch));
    }

    #[test]
    fn products_are_exact_or_overflow(
        nanos in prop_oneof![any::<i128>(), Just(1_i128 << 64), Just(-(1_i128 << 64)), Just(i128::MIN), Just(i128::MAX)],
        quantity in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -100_i64..100],
    ) {
        let money = Money::from_nanos(CurrencyCode::USD, nanos);
        match nanos.checked_mul(i128::from(quantity)) {
            Some(exact) if exact != i128::MIN => prop_assert_eq!(money.times(quantity).map(|m| m.nanos()), Ok(exact)),
            _ => prop_assert_eq!(money.times(quantity), Err(MoneyError::Overflow)),
        }
    }

    #[test]
    fn whatever_arithmetic_makes_has_a_magnitude(
        nanos in prop_oneof![any::<i128>(), Just(1_i128 << 64), Just(-(1_i128 << 64))],
        quantity in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX)],
        other in prop_oneof![any::<i128>(), Just(i128::MIN + 1), Just(1), Just(-1)],
    ) {
        let money = Money::from_nanos(CurrencyCode::USD, nanos);
        let other = Money::from_nanos(CurrencyCode::USD, other);
        let made = [money.times(quantity), money.checked_add(&other), money.checked_sub(&other)];
        for made in made.into_iter().flatten() {
            let magnitude = made.abs();
            prop_assert!(!magnitude.is_negative(), "{made:?}");
            prop_assert_eq!(magnitude.nanos().unsigned_abs(), made.nanos().unsigned_abs());
        }
    }

    #[test]
    fn rounding_lands_on_the_nearest_step(
        nanos in prop_oneof![any::<i128>(), any::<i64>().prop_map(i128::from)],
        digits in 0_u32..=9,
        half_even in any::<bool>(),
    ) {
        let rounding = if half_even { Rounding::HalfEven } else { Rounding::HalfAwayFromZero };
        let step = 10_i128.pow(9 - digits);
        // Stay where the nearest step is representable.
        prop_assume!(nanos.checked_abs().is_some_and(|m| m < i128::MAX - step));
        let rounded = rounding.round_nanos(nanos, digits);
        prop_assert_eq!(rounded % step, 0);
        let distance = (rounded - nanos).abs();
        prop_assert!(2 * distance <= step, "{nanos} to {rounded} with steps of {step}");
        if 2 * distance == step {
            // A tie: away from zero, or to the even step.
            if half_even {
                prop_assert_eq!((rounded / step) % 2, 0);
            } else {
                prop_assert!(rounded.abs() > nanos.abs());
            }
        }
        // Rounding twice changes nothing more.
        prop_assert_eq!(rounding.round_nanos(rounded, digits), rounded);
    }

    #[test]
    fn amounts_are_written_as_their_exact_decimal(
        code in code(),
        nanos in any::<i64>().prop_map(i128::from),
        min_decimals in 0_u32..12,
    ) {
        let money = Money::from_nanos(code, nanos);
        let text = money.decimal_text(min_decimals);
        // Read it back: drop the thousands separators, split at the point.
        let plain = text.replace(',', "");
        let (negative, plain) = plain.strip_prefix('-').map_or((false, plain.as_str()), |p| (true, p));
        let (whole, fraction) = plain.split_once('.').unwrap_or((plain, ""));
        prop_assert!(fraction.len() >= min_decimals.min(9) as usize && fraction.len() <= 9, "{text}");
        let whole: i128 = whole.parse().expect("digits");
        let fraction: i128 = format!("{fraction:0<9}").parse().expect("digits");
        let read = whole * NANOS_PER_UNIT + fraction;
        prop_assert_eq!(if negative { -read } else { read }, nanos, "{}", text);
        prop_assert_eq!(negative, nanos < 0);
        prop_assert!(money.to_string().starts_with(code.as_str()));
    }

    #[test]
    fn request_ids_are_up_to_64_of_the_safe_characters(text in text()) {
        let valid = (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match RequestId::parse(&text) {
            Ok(id) => {
                prop_assert!(valid, "{text:?} accepted");
                prop_assert_eq!(id.as_str(), text.as_str());
            }
            Err(error) => {
                prop_assert!(!valid, "{text:?} refused");
                prop_assert_eq!(text.is_empty(), error == ValueError::required());
            }
        }
    }

    #[test]
    fn order_ids_are_up_to_64_characters(text in text()) {
        let chars = text.chars().count();
        match OrderId::parse(&text) {
            Ok(id) => {
                prop_assert!((1..=64).contains(&chars));
                prop_assert_eq!(id.as_str(), text.as_str());
            }
            Err(_) => prop_assert!(chars == 0 || chars > 64),
        }
        prop_assert_eq!(lookup_id(&text).is_ok(), !text.is_empty());
    }

    #[test]
    fn slugs_match_their_pattern(text in text()) {
        let bytes = text.as_bytes();
        let valid = (1..=63).contains(&bytes.len())
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        prop_assert_eq!(Slug::is_valid(&text), valid, "{:?}", text);
        match Slug::parse(&text) {
            Ok(slug) => {
                prop_assert_eq!(slug.as_str(), text.as_str());
                prop_assert_eq!(slug.to_string(), text.clone());
            }
            Err(error) => prop_assert_eq!(text.is_empty(), error == ValueError::required()),
        }
    }

    #[test]
    fn ids_are_written_in_their_alphabet_and_read_back(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let hex = Encoding::Hex.encode(&bytes);
        prop_assert_eq!(hex.len(), bytes.len() * 2);
        let read: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        prop_assert_eq!(&read, &bytes);
        for (encoding, alphabet) in [
            (Encoding::Base32, b"abcdefghijklmnopqrstuvwxyz234567"),
            (Encoding::Crockford, b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
        ] {
            let text = encoding.encode(&bytes);
            prop_assert_eq!(text.len(), (bytes.len() * 8).div_ceil(5));
            prop_assert_eq!(base32_decode(&text, alphabet), Some(bytes.clone()), "{}", text);
        }
    }

    #[test]
    fn made_ids_fit_the_fields_that_carry_them(bytes in proptest::collection::vec(any::<u8>(), 16)) {
        let formats: [(IdFormat, &str); 10] = [
            (ids::ORDER, "ord_"),
            (ids::ORDER_EVENT, "evt_"),
            (ids::CHARGE, "ch_"),
            (ids::SHIPMENT, "sh_"),
            (ids::TRACKING, "BZ"),
            (ids::RESERVATION, "rsv-"),
            (ids::USER, "u_"),
            (ids::GUEST, "g_"),
            (ids::SESSION, "s_"),
            (ids::SIGNING_KEY, "k-"),
        ];
        for (format, prefix) in formats {
            let id = format.write(&bytes[..format.random_bytes()]);
            prop_assert!(id.starts_with(prefix), "{}", id);
            prop_assert!(OrderId::parse(&id).is_ok(), "{}", id);
            prop_assert!(RequestId::parse(&id).is_ok(), "{}", id);
        }
        // Request ids derived from an order id stay request ids.
        let order = ids::ORDER.write(&bytes);
        let derived = format!("{order}-reserve-99");
        prop_assert!(RequestId::parse(&derived).is_ok(), "{}", derived);
    }

    #[test]
    fn card_numbers_are_12_to_19_digits_that_pass_luhn(text in text()) {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let valid = (12..=19).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && luhn_valid(&digits);
        match CardNumber::parse(&text) {
            Ok(number) => {
                prop_assert!(valid, "{text:?} accepted");
                prop_assert!(number.is(&digits));
                prop_assert_eq!(number.last4(), &digits[digits.len() - 4..]);
                // The number never shows in what a log would print.
                let shown = format!("{number:?}");
                prop_assert!(!shown.contains(&digits), "{}", shown);
            }
            Err(error) => {
                prop_assert!(!valid, "{text:?} refused");
                prop_assert!(!error.description().contains(&digits) || digits.len() < 4);
            }
        }
    }

    #[test]
    fn one_mistyped_digit_fails_the_luhn_check(
        digits in "[0-9]{11,18}",
        position in any::<prop::sample::Index>(),
        delta in 1_u8..10,
    ) {
        // Complete the number with its check digit, then change one digit.
        let check = (0..10)
            .map(|d| format!("{digits}{d}"))
            .find(|n| luhn_valid(n))
            .expect("one check digit fits");
        prop_assert!(CardNumber::parse(&check).is_ok());
        let mut bytes = check.into_bytes();
        let at = position.index(bytes.len());
        bytes[at] = b'0' + (bytes[at] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).expect("digits");
        prop_assert!(!luhn_valid(&changed), "{}", changed);
        prop_assert!(CardNumber::parse(&changed).is_err());
    }
}
