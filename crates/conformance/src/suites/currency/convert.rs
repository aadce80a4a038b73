//! Convert: the kit computes each expected conversion itself, exactly, from the listed
//! rates (amount / from * to, rounded once, half to even, to the target's minor unit), and
//! compares; bad input and overflow are refused.

use bazaar_contract::currency::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::Code;

use super::{Client, all, decimal, unsupported};
use crate::check::{Checked, fail, invalid, ok, refused, violation_within};
use crate::ensure;
use crate::suites::{money, nanos, show, valid_money};

/// `n / d` rounded half to even (`d` > 0).
fn div_half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// The conversion the contract defines, computed exactly here.
fn expected(amount: &Money, from: &Currency, to: &Currency) -> Checked<Money> {
    let (Some(from_rate), Some(to_rate)) =
        (decimal(&from.units_per_usd), decimal(&to.units_per_usd))
    else {
        return fail("a listed rate is not an exact decimal");
    };
    let quantum = 10i128.pow(9 - to.minor_unit_digits.clamp(0, 9) as u32);
    let Some(numerator) = nanos(amount).checked_mul(to_rate) else {
        return fail("the kit's test amount is too large for exact arithmetic");
    };
    Ok(money(
        &to.code,
        div_half_even(numerator, from_rate * quantum) * quantum,
    ))
}

async fn convert(c: &mut Client, amount: Money, to: &str) -> Checked<Money> {
    let what = format!("Convert({} -> {to})", show(&amount));
    let response = ok(
        c.convert(ConvertRequest {
            amount: Some(amount),
            to_currency_code: to.to_owned(),
        })
        .await,
        &what,
    )?;
    valid_money(
        response.converted.as_ref(),
        to,
        &format!("the result of {what}"),
    )
}

async fn expect_conversion(
    c: &mut Client,
    amount: Money,
    from: &Currency,
    to: &Currency,
) -> Checked {
    let want = expected(&amount, from, to)?;
    let got = convert(c, amount.clone(), &to.code).await?;
    ensure!(
        got == want,
        "Convert({} -> {}) gave {}, expected {} (rates {} and {}, half to even to {} digits)",
        show(&amount),
        to.code,
        show(&got),
        show(&want),
        from.units_per_usd,
        to.units_per_usd,
        to.minor_unit_digits
    );
    Ok(())
}

pub(super) async fn convert_from_usd(mut c: Client) -> Checked {
    let (currencies, date) = all(&c, 200).await?;
    let Some(usd) = currencies.iter().find(|c| c.code == "USD").cloned() else {
        return fail("USD is not listed");
    };
    for to in &currencies {
        expect_conversion(&mut c, money("USD", 10_000_000_000), &usd, to).await?;
    }
    let response = ok(
        c.convert(ConvertRequest {
            amount: Some(money("USD", 1_000_000_000)),
            to_currency_code: "EUR".into(),
        })
        .await,
        "Convert(1 USD -> EUR)",
    );
    if let Ok(response) = response {
        ensure!(
            response.rates_date == date,
            "Convert's rates_date {:?} differs from the listing's {date:?}",
            response.rates_date
        );
    }
    Ok(())
}

pub(super) async fn convert_cross(mut c: Client) -> Checked {
    let (currencies, _) = all(&c, 200).await?;
    let amounts = [
        1_234_567_891_234i128,
        1,
        999_999_999,
        5_000_000,
        42_420_000_000,
    ];
    for (i, from) in currencies.iter().enumerate() {
        let to = &currencies[(i * 7 + 3) % currencies.len()];
        let amount = money(&from.code, amounts[i % amounts.len()]);
        expect_conversion(&mut c, amount, from, to).await?;
    }
    Ok(())
}

pub(super) async fn half_even(mut c: Client) -> Checked {
    for (amount, want) in [
        (125_000_000i128, 120_000_000i128),
        (135_000_000, 140_000_000),
        (5_000_000, 0),
        (15_000_000, 20_000_000),
        (-125_000_000, -120_000_000),
        (2_345_000_000, 2_340_000_000),
    ] {
        let got = convert(&mut c, money("USD", amount), "USD").await?;
        ensure!(
            nanos(&got) == want,
            "{} converted to USD gave {}, expected {} (half to even)",
            show(&money("USD", amount)),
            show(&got),
            show(&money("USD", want))
        );
    }
    let (currencies, _) = all(&c, 200).await?;
    if let Some(zero) = currencies.iter().find(|c| c.minor_unit_digits == 0) {
        for (amount, want) in [
            (2_500_000_000i128, 2_000_000_000i128),
            (3_500_000_000, 4_000_000_000),
            (500_000_000, 0),
        ] {
            let got = convert(&mut c, money(&zero.code, amount), &zero.code).await?;
            ensure!(
                nanos(&got) == want,
                "{} converted to {} gave {}, expected {}",
                show(&money(&zero.code, amount)),
                zero.code,
                show(&got),
                show(&money(&zero.code, want))
            );
        }
    }
    Ok(())
}

pub(super) async fn negative(mut c: Client) -> Checked {
    let (currencies, _) = all(&c, 200).await?;
    for (i, to) in currencies.iter().enumerate().step_by(3) {
        let amount = [12_345_678_901i128, 5_000_000, 1][i % 3];
        let plus = convert(&mut c, money("USD", amount), &to.code).await?;
        let minus = convert(&mut c, money("USD", -amount), &to.code).await?;
        ensure!(
            nanos(&minus) == -nanos(&plus),
            "{} -> {} gave {}, but the negative amount gave {}",
            show(&money("USD", amount)),
            to.code,
            show(&plus),
            show(&minus)
        );
    }
    Ok(())
}

pub(super) async fn convert_invalid(mut c: Client) -> Checked {
    let request = |code: &str, units: i64, nanos: i32, to: &str| ConvertRequest {
        amount: Some(Money {
            currency_code: code.into(),
            units,
            nanos,
        }),
        to_currency_code: to.into(),
    };
    let unsupported = unsupported(&c).await?;
    invalid(
        c.convert(request("usd", 1, 0, "EUR")).await,
        "amount.currency_code",
        "Convert(from \"usd\")",
    )?;
    invalid(
        c.convert(request(&unsupported, 1, 0, "USD")).await,
        "amount.currency_code",
        "Convert(from an unsupported code)",
    )?;
    invalid(
        c.convert(request("USD", 1, 0, "eu")).await,
        "to_currency_code",
        "Convert(to \"eu\")",
    )?;
    invalid(
        c.convert(request("USD", 1, 0, &unsupported)).await,
        "to_currency_code",
        "Convert(to an unsupported code)",
    )?;
    invalid(
        c.convert(request("USD", 1, 0, "")).await,
        "to_currency_code",
        "Convert(to \"\")",
    )?;
    invalid(
        c.convert(request("USD", 0, 1_000_000_000, "USD")).await,
        "amount.nanos",
        "Convert(nanos 1000000000)",
    )?;
    invalid(
        c.convert(request("USD", 0, -1_000_000_000, "USD")).await,
        "amount.nanos",
        "Convert(nanos -1000000000)",
    )?;
    for (units, nanos) in [(1i64, -1i32), (-1, 1)] {
        let status = refused(
            c.convert(request("USD", units, nanos, "USD")).await,
            Code::InvalidArgument,
            &format!("Convert(units {units}, nanos {nanos})"),
        )?;
        violation_within(
            &status,
            "amount",
            "Convert(units and nanos of different signs)",
        )?;
    }
    let status = refused(
        c.convert(ConvertRequest {
            amount: None,
            to_currency_code: "USD".into(),
        })
        .await,
        Code::InvalidArgument,
        "Convert(no amount)",
    )?;
    violation_within(&status, "amount", "Convert(no amount)")
}

pub(super) async fn overflow(mut c: Client) -> Checked {
    let (currencies, _) = all(&c, 200).await?;
    let rate = |cur: &Currency| decimal(&cur.units_per_usd).unwrap_or(1);
    let (Some(cheap), Some(dear)) = (
        currencies.iter().max_by_key(|c| rate(c)),
        currencies.iter().min_by_key(|c| rate(c)),
    ) else {
        return fail("no currency is listed");
    };
    ensure!(
        rate(cheap) > rate(dear),
        "every currency has the same rate, so no conversion can overflow"
    );
    let amount = Money {
        currency_code: dear.code.clone(),
        units: i64::MAX,
        nanos: 0,
    };
    let status = refused(
        c.convert(ConvertRequest {
            amount: Some(amount),
            to_currency_code: cheap.code.clone(),
        })
        .await,
        Code::InvalidArgument,
        &format!("Convert(int64 max {} -> {})", dear.code, cheap.code),
    )?;
    ensure!(
        !status.message().is_empty(),
        "the INVALID_ARGUMENT has no message"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_parsed_exactly() {
        assert_eq!(decimal("1"), Some(1_000_000_000));
        assert_eq!(decimal("0.8634"), Some(863_400_000));
        assert_eq!(decimal("155.82"), Some(155_820_000_000));
        assert_eq!(decimal("1."), None);
        assert_eq!(decimal("-1"), None);
        assert_eq!(decimal("1e3"), None);
        assert_eq!(decimal("0.1234567891"), None);
    }

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!(div_half_even(125, 10), 12);
        assert_eq!(div_half_even(135, 10), 14);
        assert_eq!(div_half_even(-125, 10), -12);
        assert_eq!(div_half_even(-135, 10), -14);
        assert_eq!(div_half_even(-126, 10), -13);
        assert_eq!(div_half_even(124, 10), 12);
    }

    #[test]
    fn the_contract_example_converts() {
        let usd = Currency {
            code: "USD".into(),
            minor_unit_digits: 2,
            units_per_usd: "1".into(),
            ..Default::default()
        };
        let eur = Currency {
            code: "EUR".into(),
            minor_unit_digits: 2,
            units_per_usd: "0.9213".into(),
            ..Default::default()
        };
        let got = expected(&money("USD", 10_000_000_000), &usd, &eur).expect("converts");
        assert_eq!(nanos(&got), 9_210_000_000);
        let got = expected(&money("USD", 125_000_000), &usd, &usd).expect("converts");
        assert_eq!(nanos(&got), 120_000_000);
    }
}
