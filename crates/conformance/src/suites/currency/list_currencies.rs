//! ListCurrencies: every currency in code order with valid fields, USD at rate 1, one
//! rates_date per listing; page sizes and bad paging.

use bazaar_contract::currency::v1::*;

use super::{Client, all, decimal, is_code, is_date};
use crate::check::{Checked, fail, invalid, ok};
use crate::ensure;
use crate::pages::strictly_ascending;

pub(super) async fn listed(c: Client) -> Checked {
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

pub(super) async fn page_sizes(mut c: Client) -> Checked {
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
