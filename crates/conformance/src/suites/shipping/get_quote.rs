//! GetQuote: the published formula, quantities of a product listed twice added up, and
//! validation of the address and the items with field paths.

use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::Address;
use tonic::Code;

use super::{Client, abroad, items, quote};
use crate::check::{Checked, invalid, ok, refused, violation_within};
use crate::ensure;
use crate::shopper::address;
use crate::suites::{nanos, repeat, show};

/// The contract's formula, in cents.
fn expected_cents(units: i64, domestic: bool) -> i64 {
    let base = if units >= 10 { 0 } else { 499 + 99 * units };
    if domestic { base } else { base + 1_000 }
}

pub(super) async fn quotes(mut c: Client) -> Checked {
    for units in [1, 2, 9, 10, 12, 99] {
        for (to, domestic, days) in [(address(), true, 3), (abroad(), false, 7)] {
            let q = quote(&mut c, to.clone(), &[("lamp", units)]).await?;
            let cost = q.cost.clone().unwrap_or_default();
            let want = i128::from(expected_cents(i64::from(units), domestic)) * 10_000_000;
            ensure!(
                cost.currency_code == "USD" && nanos(&cost) == want,
                "{units} units to {}: {} ({} days), expected {want} nanos USD",
                to.country_code,
                show(&cost),
                q.estimated_delivery_days
            );
            ensure!(
                q.estimated_delivery_days == days,
                "{units} units to {}: {} days, expected {days}",
                to.country_code,
                q.estimated_delivery_days
            );
            let again = quote(&mut c, to.clone(), &[("lamp", units)]).await?;
            ensure!(again == q, "the same input gave another quote: {again:?}");
        }
    }
    let q = quote(&mut c, address(), &[("lamp", 1), ("mug", 1)]).await?;
    ensure!(
        q.cost.as_ref().map(nanos) == Some(6_970_000_000),
        "2 units to US cost {:?}, the contract says 6.97 USD",
        q.cost.as_ref().map(show)
    );
    Ok(())
}

pub(super) async fn quote_duplicates(mut c: Client) -> Checked {
    let split = quote(&mut c, address(), &[("lamp", 4), ("mug", 1), ("lamp", 5)]).await?;
    ensure!(
        split.cost.as_ref().map(nanos) == Some(0),
        "lamp 4 + mug 1 + lamp 5 (10 units) to US cost {:?}, expected free",
        split.cost.as_ref().map(show)
    );
    Ok(())
}

pub(super) async fn quote_bad_address(mut c: Client) -> Checked {
    let with = |f: &dyn Fn(&mut Address)| {
        let mut a = address();
        f(&mut a);
        a
    };
    let cases: Vec<(Address, &str, &str)> = vec![
        (
            with(&|a| a.recipient_name = String::new()),
            "address.recipient_name",
            "no recipient",
        ),
        (
            with(&|a| a.recipient_name = "   ".into()),
            "address.recipient_name",
            "a blank recipient",
        ),
        (
            with(&|a| a.recipient_name = repeat('r', 101)),
            "address.recipient_name",
            "a recipient of 101 characters",
        ),
        (
            with(&|a| a.street_lines = vec![]),
            "address.street_lines",
            "no street line",
        ),
        (
            with(&|a| a.street_lines = vec!["a".into(); 4]),
            "address.street_lines",
            "4 street lines",
        ),
        (
            with(&|a| a.street_lines = vec!["1 Main St".into(), repeat('s', 101)]),
            "address.street_lines[1]",
            "a street line of 101 characters",
        ),
        (
            with(&|a| a.street_lines = vec!["1 Main St".into(), String::new()]),
            "address.street_lines[1]",
            "an empty street line",
        ),
        (with(&|a| a.city = String::new()), "address.city", "no city"),
        (
            with(&|a| a.region = repeat('g', 101)),
            "address.region",
            "a region of 101 characters",
        ),
        (
            with(&|a| a.postal_code = repeat('9', 21)),
            "address.postal_code",
            "a postal code of 21 characters",
        ),
        (
            with(&|a| a.country_code = "us".into()),
            "address.country_code",
            "country \"us\"",
        ),
        (
            with(&|a| a.country_code = "USA".into()),
            "address.country_code",
            "country \"USA\"",
        ),
        (
            with(&|a| a.country_code = String::new()),
            "address.country_code",
            "no country",
        ),
    ];
    for (to, field, what) in cases {
        let call = format!("GetQuote({what})");
        let status = refused(
            c.get_quote(GetQuoteRequest {
                address: Some(to),
                items: items(&[("lamp", 1)]),
            })
            .await,
            Code::InvalidArgument,
            &call,
        )?;
        if field.ends_with(']') {
            crate::check::violation(&status, field, &call)?;
        } else {
            violation_within(&status, field, &call)?;
        }
    }
    let status = refused(
        c.get_quote(GetQuoteRequest {
            address: None,
            items: items(&[("lamp", 1)]),
        })
        .await,
        Code::InvalidArgument,
        "GetQuote(no address)",
    )?;
    violation_within(&status, "address", "GetQuote(no address)")?;
    let padded = Address {
        recipient_name: "  Ada  ".into(),
        region: String::new(),
        ..with(&|a| a.street_lines = vec![format!(" {} ", repeat('s', 100))])
    };
    quote(&mut c, padded, &[("lamp", 1)]).await.map_err(|p| crate::check::Problem::Failed(format!("an address valid once trimmed (100-character line between spaces, no region) was refused: {p}")))?;
    Ok(())
}

pub(super) async fn quote_bad_items(mut c: Client) -> Checked {
    let call = |list: Vec<ShipmentItem>| GetQuoteRequest {
        address: Some(address()),
        items: list,
    };
    let status = refused(
        c.get_quote(call(vec![])).await,
        Code::InvalidArgument,
        "GetQuote(no items)",
    )?;
    violation_within(&status, "items", "GetQuote(no items)")?;
    let status = refused(
        c.get_quote(call(items(&[("lamp", 1); 101]))).await,
        Code::InvalidArgument,
        "GetQuote(101 items)",
    )?;
    violation_within(&status, "items", "GetQuote(101 items)")?;
    ok(
        c.get_quote(call(items(&[("lamp", 1); 100]))).await,
        "GetQuote(100 items)",
    )?;
    invalid(
        c.get_quote(call(items(&[("lamp", 1), ("mug", 100)]))).await,
        "items[1].quantity",
        "GetQuote(quantity 100 in the second item)",
    )?;
    invalid(
        c.get_quote(call(items(&[("lamp", 0)]))).await,
        "items[0].quantity",
        "GetQuote(quantity 0)",
    )?;
    invalid(
        c.get_quote(call(items(&[("Not A Slug", 1)]))).await,
        "items[0].product_id",
        "GetQuote(malformed product_id)",
    )
}
