//! Exact arithmetic, rounding and parsing of money, checked on the edges.

use super::*;

const USD: CurrencyCode = CurrencyCode::USD;

fn code(text: &str) -> CurrencyCode {
    CurrencyCode::parse(text).unwrap()
}

fn usd(units: i64, nanos: i32) -> Money {
    Money::new(USD, units, nanos).unwrap()
}

fn pb_money(code: &str, units: i64, nanos: i32) -> pb::Money {
    pb::Money {
        currency_code: code.to_owned(),
        units,
        nanos,
    }
}

fn sub_fields(result: Result<Money, Vec<ValueError>>) -> Vec<String> {
    result
        .unwrap_err()
        .iter()
        .map(|e| e.sub_field().to_owned())
        .collect()
}

#[test]
fn codes_are_three_upper_case_letters() {
    assert_eq!(code("EUR").as_str(), "EUR");
    assert_eq!(CurrencyCode::parse(""), Err(ValueError::required()));
    for bad in ["eur", "EU", "EURO", "E1R", "ÉUR", "<b>"] {
        assert!(CurrencyCode::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(code("JPY").minor_digits(), 0);
    assert_eq!(code("KWD").minor_digits(), 3);
    assert_eq!(code("EUR").minor_digits(), 2);
}

#[test]
fn parsing_reports_every_broken_rule_on_its_sub_field() {
    let money = Money::parse(&pb_money("USD", -3, -5)).unwrap();
    assert_eq!(money.parts(), Ok((-3, -5)));
    assert_eq!(
        sub_fields(Money::parse(&pb_money("usd", 1, 0))),
        ["currency_code"]
    );
    assert_eq!(sub_fields(Money::parse(&pb_money("USD", 1, -1))), ["nanos"]);
    assert_eq!(
        Money::parse(&pb_money("USD", 0, 1_000_000_000)),
        Err(vec![NANOS_OUT_OF_RANGE])
    );
    assert_eq!(
        Money::parse(&pb_money("USD", -1, 5)),
        Err(vec![SIGNS_DISAGREE])
    );
    assert_eq!(
        sub_fields(Money::parse(&pb_money("", 1, -1))),
        ["currency_code", "nanos"]
    );
    assert!(Money::parse(&pb_money("USD", 0, -5)).is_ok());
    assert!(Money::parse(&pb_money("USD", i64::MAX, 999_999_999)).is_ok());
}

#[test]
fn sums_and_products_are_exact() {
    let price = usd(19, 990_000_000);
    let line = price.times(3).unwrap();
    assert_eq!(line.parts(), Ok((59, 970_000_000)));
    let total = line.checked_add(&usd(6, 970_000_000)).unwrap();
    assert_eq!(total.parts(), Ok((66, 940_000_000)));
    assert_eq!(
        total.checked_sub(&usd(66, 950_000_000)).unwrap().parts(),
        Ok((0, -10_000_000))
    );
    assert_eq!(Money::parse(&total.to_pb().unwrap()), Ok(total));
    assert_eq!(
        Money::sum(USD, [&price, &usd(0, 20_000_000)]),
        Ok(usd(20, 10_000_000))
    );
    assert_eq!(Money::sum(USD, []), Ok(Money::zero(USD)));
    // 99 units of the largest price still fit; only the contract's units overflow.
    let largest = usd(i64::MAX, 999_999_999).times(99).unwrap();
    assert_eq!(largest.parts(), Err(MoneyError::Overflow));
    assert_eq!(
        Money::from_nanos(USD, i128::MAX).times(2),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn arithmetic_never_makes_an_amount_without_a_magnitude() {
    // 2^64 nanos (a valid contract amount) times i64::MIN is exactly i128::MIN, whose
    // magnitude no i128 holds: refused, as are a sum and a difference that land on it.
    let amount = usd(-18_446_744_073, -709_551_616);
    assert_eq!(amount.nanos(), -(1_i128 << 64));
    assert_eq!(
        amount.times(i64::MAX),
        Ok(Money::from_nanos(
            USD,
            -(1_i128 << 64) * i128::from(i64::MAX)
        ))
    );
    assert_eq!(amount.abs().times(i64::MIN), Err(MoneyError::Overflow));
    let low = Money::from_nanos(USD, i128::MIN + 1);
    assert_eq!(low.checked_add(&usd(0, -1)), Err(MoneyError::Overflow));
    assert_eq!(low.checked_sub(&usd(0, 1)), Err(MoneyError::Overflow));
    assert_eq!(low.abs().nanos(), i128::MAX);
    assert_eq!(Money::from_nanos(USD, i128::MIN).abs().nanos(), i128::MAX);
}

#[test]
fn currencies_do_not_mix() {
    let eur = Money::zero(code("EUR"));
    assert!(matches!(
        usd(1, 0).checked_add(&eur),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert!(usd(1, 0).checked_sub(&eur).is_err());
    assert!(usd(1, 0).in_currency(code("EUR")).is_err());
    assert_eq!(usd(1, 0).in_currency(USD), Ok(usd(1, 0)));
    assert_eq!(usd(1, 0).partial_cmp(&eur), None);
    assert!(usd(1, 0) > usd(0, 999_999_999));
    assert!(usd(-1, 0) < Money::zero(USD));
    assert!(usd(0, 1).is_positive() && usd(0, -1).is_negative());
    assert_eq!(usd(-2, -500_000_000).abs(), usd(2, 500_000_000));
}

#[test]
fn rounding_rules() {
    let even = Rounding::HalfEven;
    let away = Rounding::HalfAwayFromZero;
    for (numerator, denominator, half_even, half_away) in [
        (5, 10, 0, 1),
        (15, 10, 2, 2),
        (25, 10, 2, 3),
        (35, 10, 4, 4),
        (14, 10, 1, 1),
        (16, 10, 2, 2),
        (7, 1, 7, 7),
    ] {
        assert_eq!(even.divide(numerator, denominator), half_even);
        assert_eq!(away.divide(numerator, denominator), half_away);
    }
    // To cents: 0.125 → 0.12 (even) or 0.13 (away); negatives mirror positives.
    assert_eq!(usd(0, 125_000_000).rounded(2, even), usd(0, 120_000_000));
    assert_eq!(usd(0, 125_000_000).rounded(2, away), usd(0, 130_000_000));
    assert_eq!(usd(0, -125_000_000).rounded(2, away), usd(0, -130_000_000));
    assert_eq!(
        Money::new(code("JPY"), 301, 325_800_000)
            .unwrap()
            .to_minor_unit(even),
        Money::new(code("JPY"), 301, 0).unwrap()
    );
    assert_eq!(usd(3, 0).rounded(9, away), usd(3, 0));
}

#[test]
fn rounding_agrees_with_exact_fractions() {
    // A property loop: for many amounts and every number of digits, the rounded amount
    // is a whole number of steps, less than one step away, and within half a step.
    let mut nanos: i128 = -2_000_000_001;
    while nanos < 2_000_000_000 {
        for digits in 0..=9 {
            let step = 10_i128.pow(9 - digits);
            for rounding in [Rounding::HalfEven, Rounding::HalfAwayFromZero] {
                let rounded = rounding.round_nanos(nanos, digits);
                assert_eq!(rounded % step, 0, "{nanos} {digits}");
                assert!(2 * (rounded - nanos).abs() <= step, "{nanos} {digits}");
                assert_eq!(rounding.round_nanos(-nanos, digits), -rounded);
            }
        }
        nanos += 9_876_543;
    }
}

#[test]
fn display_keeps_the_currency_decimals_and_every_finer_digit() {
    let text = |currency: &str, units, nanos| {
        Money::new(code(currency), units, nanos)
            .unwrap()
            .to_string()
    };
    assert_eq!(text("USD", 12, 300_000_000), "USD 12.30");
    assert_eq!(text("USD", 0, 0), "USD 0.00");
    assert_eq!(text("USD", 1_234_567, 5_000_000), "USD 1,234,567.005");
    assert_eq!(text("USD", 0, 123_456_789), "USD 0.123456789");
    assert_eq!(text("JPY", 1500, 0), "JPY 1,500");
    assert_eq!(text("KWD", 2, 500_000_000), "KWD 2.500");
    assert_eq!(text("USD", -1, -750_000_000), "USD -1.75");
    assert_eq!(text("USD", 0, -750_000_000), "USD -0.75");
    assert_eq!(text("USD", 999, 0), "USD 999.00");
    assert_eq!(text("USD", 1000, 0), "USD 1,000.00");
    // A line of 99 units of the largest price is still shown exactly.
    let largest = usd(i64::MAX, 999_999_999).times(99).unwrap();
    assert!(largest.to_string().starts_with("USD 913,"));
    assert_eq!(
        usd(19, 990_000_000).times(3).unwrap().to_string(),
        "USD 59.97"
    );
    assert_eq!(decimal_text(1_234_500_000_000, 2), "1,234.50");
    assert_eq!(decimal_text(7, 0), "0.000000007");
    assert_eq!(split_nanos(total_nanos(-3, -5)), Some((-3, -5)));
    assert_eq!(split_nanos(i128::MAX), None);
}
