//! Currency: the supported currencies, their rates against the US dollar, and exact
//! conversion rounded once, half to even.
//!
//! The kit recomputes every conversion itself, with exact integer arithmetic on the rates
//! the service lists, so it checks the formula of the contract, not a copy of the rate
//! table.

use std::sync::{Arc, Mutex};

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::currency::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::Code;
use tonic::transport::Channel;

use super::{money, nanos, show, valid_money};
use crate::check::{Checked, fail, invalid, ok, refused, violation_within};
use crate::pages::{strictly_ascending, walk};
use crate::target::{Target, garbage_token};
use crate::{Runner, ensure};

type Client = CurrencyServiceClient<Channel>;

/// Runs every currency check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CurrencyServiceClient::new(target.own());
    r.check(
        "ListCurrencies pages through every currency in code order, USD at rate 1",
        listed(c.clone()),
    )
    .await;
    r.check(
        "ListCurrencies: default page size 50, at most 200; bad paging is INVALID_ARGUMENT",
        page_sizes(c.clone()),
    )
    .await;
    r.check(
        "GetCurrency returns each listed currency with the same rates_date",
        gettable(c.clone()),
    )
    .await;
    r.check(
        "GetCurrency: malformed code INVALID_ARGUMENT, unsupported code NOT_FOUND",
        get_errors(c.clone()),
    )
    .await;
    r.check(
        "Convert: 10.00 USD into every currency is exact, rounded to its minor unit",
        convert_from_usd(c.clone()),
    )
    .await;
    r.check(
        "Convert: odd amounts between currencies follow amount / from * to exactly",
        convert_cross(c.clone()),
    )
    .await;
    r.check(
        "Convert rounds half to even (0.125 USD -> 0.12, 0.135 -> 0.14)",
        half_even(c.clone()),
    )
    .await;
    r.check(
        "Convert: negative amounts convert symmetrically",
        negative(c.clone()),
    )
    .await;
    r.check(
        "Convert: bad codes, nanos and signs are INVALID_ARGUMENT with field violations",
        convert_invalid(c.clone()),
    )
    .await;
    r.check(
        "Convert: a result beyond the int64 range is INVALID_ARGUMENT",
        overflow(c.clone()),
    )
    .await;
    r.check(
        "an authorization header, even a bad one, is ignored",
        public_access(c.clone()),
    )
    .await;
}

async fn all(c: &Client, page_size: i32) -> Checked<(Vec<Currency>, String)> {
    let dates = Arc::new(Mutex::new(Vec::new()));
    let currencies = walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        let dates = dates.clone();
        async move {
            let page = ok(
                c.list_currencies(ListCurrenciesRequest {
                    page_size,
                    page_token,
                })
                .await,
                "ListCurrencies",
            )?;
            if let Ok(mut dates) = dates.lock() {
                dates.push(page.rates_date.clone());
            }
            Ok((page.currencies, page.next_page_token))
        }
    })
    .await?;
    let dates = dates.lock().map(|d| d.clone()).unwrap_or_default();
    let Some(date) = dates.first().cloned() else {
        return fail("ListCurrencies returned no page");
    };
    ensure!(
        dates.iter().all(|d| *d == date),
        "pages of one listing carry different rates_date: {dates:?}"
    );
    Ok((currencies, date))
}

/// `text` as an exact decimal scaled by 10^9, if it has the contract's form: ASCII digits,
/// at most one ".", at most 9 digits after it, no sign, no exponent.
fn decimal(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 9
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<9}").parse().ok()?;
    Some(whole * 1_000_000_000 + fraction)
}

fn is_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

async fn listed(c: Client) -> Checked {
    let (currencies, date) = all(&c, 5).await?;
    let codes: Vec<&str> = currencies.iter().map(|c| c.code.as_str()).collect();
    strictly_ascending(&codes, "currency codes")?;
    let Some(usd) = currencies.iter().find(|c| c.code == "USD") else {
        return fail("USD is not listed");
    };
    ensure!(
        usd.units_per_usd == "1",
        "USD has units_per_usd {:?}, expected exactly \"1\"",
        usd.units_per_usd
    );
    ensure!(
        usd.minor_unit_digits == 2,
        "USD has {} minor unit digits",
        usd.minor_unit_digits
    );
    for cur in &currencies {
        ensure!(
            is_code(&cur.code),
            "code {:?} is not three upper-case letters",
            cur.code
        );
        ensure!(
            (1..=60).contains(&cur.display_name.chars().count()),
            "{} has a display_name of {} characters",
            cur.code,
            cur.display_name.chars().count()
        );
        ensure!(
            (1..=5).contains(&cur.symbol.chars().count()),
            "{} has a symbol of {} characters",
            cur.code,
            cur.symbol.chars().count()
        );
        ensure!(
            (0..=4).contains(&cur.minor_unit_digits),
            "{} has {} minor unit digits",
            cur.code,
            cur.minor_unit_digits
        );
        let rate = decimal(&cur.units_per_usd);
        ensure!(
            rate.is_some_and(|r| r > 0),
            "{} has units_per_usd {:?}, not a positive exact decimal",
            cur.code,
            cur.units_per_usd
        );
    }
    ensure!(is_date(&date), "rates_date {date:?} is not YYYY-MM-DD");
    let (in_one, _) = all(&c, 200).await?;
    ensure!(
        in_one == currencies,
        "pages of 5 and pages of 200 list different currencies"
    );
    Ok(())
}

fn is_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

async fn page_sizes(mut c: Client) -> Checked {
    let page = ok(
        c.list_currencies(ListCurrenciesRequest::default()).await,
        "ListCurrencies(page_size 0)",
    )?;
    ensure!(
        page.currencies.len() <= 50,
        "page_size 0 gave {} currencies, more than the default 50",
        page.currencies.len()
    );
    let page = ok(
        c.list_currencies(ListCurrenciesRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await,
        "ListCurrencies(page_size 100000)",
    )?;
    ensure!(
        page.currencies.len() <= 200,
        "page_size 100000 gave {} currencies, more than the maximum 200",
        page.currencies.len()
    );
    invalid(
        c.list_currencies(ListCurrenciesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size",
        "ListCurrencies(page_size -1)",
    )?;
    invalid(
        c.list_currencies(ListCurrenciesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListCurrencies(page_token \"garbage\")",
    )
}

async fn gettable(mut c: Client) -> Checked {
    let (currencies, date) = all(&c, 200).await?;
    for cur in currencies {
        let got = ok(
            c.get_currency(GetCurrencyRequest {
                code: cur.code.clone(),
            })
            .await,
            "GetCurrency",
        )?;
        ensure!(
            got.currency.as_ref() == Some(&cur),
            "GetCurrency({}) differs from the listing: {:?}",
            cur.code,
            got.currency
        );
        ensure!(
            got.rates_date == date,
            "GetCurrency({}) has rates_date {:?}, the listing {date:?}",
            cur.code,
            got.rates_date
        );
    }
    Ok(())
}

/// A well-formed code that is not supported.
async fn unsupported(c: &Client) -> Checked<String> {
    let (currencies, _) = all(c, 200).await?;
    for code in ["QQQ", "XZZ", "ZZZ", "QZQ"] {
        if !currencies.iter().any(|c| c.code == code) {
            return Ok(code.to_owned());
        }
    }
    fail("every candidate unsupported code is supported")
}

async fn get_errors(mut c: Client) -> Checked {
    for code in ["eur", "EU", "EURO", "", "E1R"] {
        invalid(
            c.get_currency(GetCurrencyRequest { code: code.into() })
                .await,
            "code",
            &format!("GetCurrency({code:?})"),
        )?;
    }
    let code = unsupported(&c).await?;
    refused(
        c.get_currency(GetCurrencyRequest { code: code.clone() })
            .await,
        Code::NotFound,
        &format!("GetCurrency({code:?})"),
    )?;
    Ok(())
}

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

async fn convert_from_usd(mut c: Client) -> Checked {
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

async fn convert_cross(mut c: Client) -> Checked {
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

async fn half_even(mut c: Client) -> Checked {
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

async fn negative(mut c: Client) -> Checked {
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

async fn convert_invalid(mut c: Client) -> Checked {
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

async fn overflow(mut c: Client) -> Checked {
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

async fn public_access(mut c: Client) -> Checked {
    ok(
        c.list_currencies(garbage_token(ListCurrenciesRequest::default()))
            .await,
        "ListCurrencies with a bad authorization header",
    )?;
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
