//! Listing, getting and converting currencies: pages, exact rounding, and bad input named
//! by field.

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::currency::v1::*;
use bazaar_contract::types::v1::Money;
use chassis::testing::{assert_invalid_argument, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

use crate::support::Running;

fn money(code: &str, units: i64, nanos: i32) -> Money {
    Money {
        currency_code: code.to_owned(),
        units,
        nanos,
    }
}

async fn convert(
    client: &mut CurrencyServiceClient<Channel>,
    amount: Option<Money>,
    to: &str,
) -> Result<Money, tonic::Status> {
    client
        .convert(ConvertRequest {
            amount,
            to_currency_code: to.to_owned(),
        })
        .await
        .map(|r| r.into_inner().converted.expect("a converted amount"))
}

#[tokio::test]
async fn lists_every_currency_in_pages() {
    let running = Running::start().await;
    let mut client = running.client.clone();
    let mut codes = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_currencies(ListCurrenciesRequest {
                page_size: 10,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.rates_date.len(), 10);
        codes.extend(page.currencies.into_iter().map(|c| c.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(codes.len() >= 30);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted);
    assert!(codes.contains(&"USD".to_owned()));

    let status = client
        .list_currencies(ListCurrenciesRequest {
            page_size: -5,
            page_token: "v1.nonsense".to_owned(),
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_size", "page_token"]);
    running.stop().await;
}

#[tokio::test]
async fn gets_one_currency() {
    let running = Running::start().await;
    let mut client = running.client.clone();
    let yen = client
        .get_currency(GetCurrencyRequest {
            code: "JPY".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .currency
        .unwrap();
    assert_eq!(yen.minor_unit_digits, 0);
    assert!(!yen.symbol.is_empty());
    let usd = client
        .get_currency(GetCurrencyRequest {
            code: "USD".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .currency
        .unwrap();
    assert_eq!(usd.units_per_usd, "1");
    let status = client
        .get_currency(GetCurrencyRequest {
            code: "XXX".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_currency(GetCurrencyRequest {
            code: "usd".to_owned(),
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["code"]);
    running.stop().await;
}

#[tokio::test]
async fn converts_exactly_and_rounds_half_to_even() {
    let running = Running::start().await;
    let mut client = running.client.clone();
    // Rounding within the same currency: 0.125 → 0.12, 0.135 → 0.14 (ties to even).
    assert_eq!(
        convert(&mut client, Some(money("USD", 0, 125_000_000)), "USD")
            .await
            .unwrap(),
        money("USD", 0, 120_000_000)
    );
    assert_eq!(
        convert(&mut client, Some(money("USD", 0, 135_000_000)), "USD")
            .await
            .unwrap(),
        money("USD", 0, 140_000_000)
    );
    assert_eq!(
        convert(&mut client, Some(money("USD", -1, -125_000_000)), "USD")
            .await
            .unwrap(),
        money("USD", -1, -120_000_000)
    );
    // Zero-digit currencies come back in whole units.
    let yen = convert(&mut client, Some(money("USD", 19, 990_000_000)), "JPY")
        .await
        .unwrap();
    assert_eq!(yen.nanos, 0);
    assert!(yen.units > 19);
    // Three-digit currencies keep three digits.
    let dinar = convert(&mut client, Some(money("USD", 123, 0)), "KWD")
        .await
        .unwrap();
    assert_eq!(dinar.nanos % 1_000_000, 0);
    // Zero is zero everywhere.
    assert_eq!(
        convert(&mut client, Some(money("EUR", 0, 0)), "GBP")
            .await
            .unwrap(),
        money("GBP", 0, 0)
    );
    running.stop().await;
}

#[tokio::test]
async fn bad_conversions_name_the_field() {
    let running = Running::start().await;
    let mut client = running.client.clone();
    let cases: Vec<(Option<Money>, &str, Vec<&str>)> = vec![
        (None, "EUR", vec!["amount"]),
        (
            Some(money("ZZZ", 1, 0)),
            "EUR",
            vec!["amount.currency_code"],
        ),
        (
            Some(money("usd", 1, 0)),
            "EUR",
            vec!["amount.currency_code"],
        ),
        (Some(money("USD", 1, 0)), "", vec!["to_currency_code"]),
        (Some(money("USD", 1, 0)), "QQQ", vec!["to_currency_code"]),
        (Some(money("USD", 1, -5)), "EUR", vec!["amount.units"]),
        (Some(money("USD", -1, 5)), "EUR", vec!["amount.units"]),
        (
            Some(money("USD", 0, 1_000_000_000)),
            "EUR",
            vec!["amount.nanos"],
        ),
        (
            Some(money("USD", 0, -1_000_000_000)),
            "EUR",
            vec!["amount.nanos"],
        ),
        (
            Some(money("ZZZ", 0, 2_000_000_000)),
            "QQQ",
            vec!["amount.currency_code", "amount.nanos", "to_currency_code"],
        ),
        (Some(money("USD", i64::MAX, 0)), "VND", vec!["amount"]),
        (Some(money("USD", i64::MIN, 0)), "VND", vec!["amount"]),
    ];
    for (amount, to, expected) in cases {
        let status = convert(&mut client, amount.clone(), to).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{amount:?} → {to}");
        assert_eq!(violated_fields(&status), expected, "{amount:?} → {to}");
    }
    running.stop().await;
}
