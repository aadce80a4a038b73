//! Currency: the supported currencies, their rates against the US dollar, and exact
//! conversion rounded once, half to even.
//!
//! The kit recomputes every conversion itself, with exact integer arithmetic on the rates
//! the service lists, so it checks the formula of the contract, not a copy of the rate
//! table.
//!
//! One file per part of the contract: `list_currencies`, `get_currency` and `convert`. The
//! whole listing and the parsing of its exact decimal rates are here.

mod convert;
mod get_currency;
mod list_currencies;

use std::sync::{Arc, Mutex};

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::currency::v1::*;
use tonic::transport::Channel;

use crate::check::{Checked, fail, ok};
use crate::pages::walk;
use crate::target::{Target, garbage_token};
use crate::{Runner, ensure};

type Client = CurrencyServiceClient<Channel>;

/// Runs every currency check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CurrencyServiceClient::new(target.own());
    r.check(
        "ListCurrencies pages through every currency in code order, USD at rate 1",
        list_currencies::listed(c.clone()),
    )
    .await;
    r.check(
        "ListCurrencies: default page size 50, at most 200; bad paging is INVALID_ARGUMENT",
        list_currencies::page_sizes(c.clone()),
    )
    .await;
    r.check(
        "GetCurrency returns each listed currency with the same rates_date",
        get_currency::gettable(c.clone()),
    )
    .await;
    r.check(
        "GetCurrency: malformed code INVALID_ARGUMENT, unsupported code NOT_FOUND",
        get_currency::get_errors(c.clone()),
    )
    .await;
    r.check(
        "Convert: 10.00 USD into every currency is exact, rounded to its minor unit",
        convert::convert_from_usd(c.clone()),
    )
    .await;
    r.check(
        "Convert: odd amounts between currencies follow amount / from * to exactly",
        convert::convert_cross(c.clone()),
    )
    .await;
    r.check(
        "Convert rounds half to even (0.125 USD -> 0.12, 0.135 -> 0.14)",
        convert::half_even(c.clone()),
    )
    .await;
    r.check(
        "Convert: negative amounts convert symmetrically",
        convert::negative(c.clone()),
    )
    .await;
    r.check(
        "Convert: bad codes, nanos and signs are INVALID_ARGUMENT with field violations",
        convert::convert_invalid(c.clone()),
    )
    .await;
    r.check(
        "Convert: a result beyond the int64 range is INVALID_ARGUMENT",
        convert::overflow(c.clone()),
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

fn is_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
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

async fn public_access(mut c: Client) -> Checked {
    ok(
        c.list_currencies(garbage_token(ListCurrenciesRequest::default()))
            .await,
        "ListCurrencies with a bad authorization header",
    )?;
    Ok(())
}
