//! Prices as shoppers see them: amounts converted into the chosen currency by the currency
//! service, and written out with the currency's symbol and minor digits.
//!
//! The catalog prices everything in US dollars. A page collects every amount it shows,
//! converts them all at once ([`Money::convert_all`], one `Convert` call per distinct
//! amount, concurrently, each with the optional deadline) and, if any conversion fails,
//! shows them all in dollars with a note rather than a page in two currencies. Arithmetic
//! (line totals, subtotals) is done exactly, in nanos, before conversion, with the
//! contract's money arithmetic (`bazaar_contract::values::money`); money is never a float.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bazaar_contract::currency::v1::{ConvertRequest, ListCurrenciesRequest};
use bazaar_contract::types::v1::Money;
use bazaar_contract::values::{self, Rounding};
use serde::Serialize;

use crate::upstreams::{Upstreams, call};

/// The currency of the catalog's prices, and the fallback.
pub const USD: &str = "USD";
/// What a page says when it could not convert prices.
pub const FALLBACK_NOTE: &str =
    "Prices are shown in US dollars: currency conversion is unavailable right now.";
/// How long the list of currencies is kept before it is fetched again.
const CURRENCIES_TTL: Duration = Duration::from_secs(600);

/// What a page needs to know about a currency to write amounts in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrencyInfo {
    /// ISO 4217 code, e.g. "EUR".
    pub code: String,
    /// English name, e.g. "Euro".
    pub name: String,
    /// Symbol, e.g. "€".
    pub symbol: String,
    /// Digits after the decimal point (2 for EUR, 0 for JPY).
    pub digits: u32,
}

impl CurrencyInfo {
    /// The US dollar, known without asking the currency service.
    pub fn usd() -> Self {
        Self {
            code: USD.to_owned(),
            name: "US Dollar".to_owned(),
            symbol: "$".to_owned(),
            digits: 2,
        }
    }
}

/// An amount ready to show: the exact money and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Price {
    /// ISO 4217 code.
    pub currency_code: String,
    /// Whole units.
    pub units: i64,
    /// Nano units, same sign as `units`.
    pub nanos: i32,
    /// As shown, e.g. "€1,234.50".
    pub text: String,
}

impl Price {
    /// `money` written with `info` (or, when the currency is unknown, with its code and
    /// two digits).
    pub fn new(money: &Money, info: Option<&CurrencyInfo>) -> Self {
        Self {
            currency_code: money.currency_code.clone(),
            units: money.units,
            nanos: money.nanos,
            text: format(money, info),
        }
    }
}

/// `money` as text: symbol, thousands separators, the currency's minor digits (rounded
/// half away from zero if the amount has more).
pub fn format(money: &Money, info: Option<&CurrencyInfo>) -> String {
    let (prefix, digits) = match info {
        Some(info) => (info.symbol.clone(), info.digits.min(9)),
        None => (format!("{} ", money.currency_code), 2),
    };
    let total = values::money::total_nanos(money.units, money.nanos);
    let rounded = Rounding::HalfAwayFromZero.round_nanos(total.abs(), digits);
    let sign = if total < 0 { "-" } else { "" };
    format!(
        "{sign}{prefix}{}",
        values::money::decimal_text(rounded, digits)
    )
}

/// A count of nanos as a Money of `currency_code`, its units held at the int64 limit if
/// it goes beyond.
fn from_nanos(currency_code: &str, total: i128) -> Money {
    let (units, nanos) = values::money::split_nanos(total).unwrap_or(if total < 0 {
        (i64::MIN, -999_999_999)
    } else {
        (i64::MAX, 999_999_999)
    });
    Money {
        currency_code: currency_code.to_owned(),
        units,
        nanos,
    }
}

/// `money` times `quantity`, exactly.
pub fn times(money: &Money, quantity: i64) -> Money {
    let total = values::money::total_nanos(money.units, money.nanos);
    from_nanos(
        &money.currency_code,
        total.saturating_mul(i128::from(quantity)),
    )
}

/// The sum of amounts of one currency (`currency_code` names it, for an empty sum).
pub fn sum<'a>(currency_code: &str, amounts: impl IntoIterator<Item = &'a Money>) -> Money {
    let total = amounts
        .into_iter()
        .map(|m| values::money::total_nanos(m.units, m.nanos))
        .fold(0_i128, i128::saturating_add);
    from_nanos(currency_code, total)
}

/// Whether `code` looks like an ISO 4217 code (three upper-case letters).
pub fn is_currency_code(code: &str) -> bool {
    values::CurrencyCode::parse(code).is_ok()
}

/// The currencies the shop offers, fetched from the currency service and kept for a while.
#[derive(Debug, Default)]
pub struct Currencies {
    cache: RwLock<Option<(Instant, Arc<Vec<CurrencyInfo>>)>>,
}

impl Currencies {
    /// Every currency, from the cache or the currency service; when the service cannot be
    /// reached and nothing is cached, only the US dollar.
    pub async fn list(&self, upstreams: &Upstreams) -> Arc<Vec<CurrencyInfo>> {
        let cached = self.cache.read().ok().and_then(|cache| cache.clone());
        if let Some((at, list)) = &cached
            && at.elapsed() < CURRENCIES_TTL
        {
            return list.clone();
        }
        match fetch(upstreams).await {
            Ok(list) => {
                let list = Arc::new(list);
                if let Ok(mut cache) = self.cache.write() {
                    *cache = Some((Instant::now(), list.clone()));
                }
                list
            }
            Err(status) => {
                tracing::debug!(code = ?status.code(), "cannot list currencies");
                cached.map_or_else(|| Arc::new(vec![CurrencyInfo::usd()]), |(_, list)| list)
            }
        }
    }

    /// One currency, if the shop offers it.
    pub async fn find(&self, upstreams: &Upstreams, code: &str) -> Option<CurrencyInfo> {
        self.list(upstreams)
            .await
            .iter()
            .find(|c| c.code == code)
            .cloned()
    }
}

async fn fetch(upstreams: &Upstreams) -> Result<Vec<CurrencyInfo>, tonic::Status> {
    let mut client = upstreams.currency.clone();
    let mut list = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_currencies(call(
                ListCurrenciesRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                },
                upstreams.deadlines.optional,
                None,
            ))
            .await?
            .into_inner();
        list.extend(response.currencies.into_iter().map(|c| CurrencyInfo {
            code: c.code,
            name: c.display_name,
            symbol: c.symbol,
            digits: u32::try_from(c.minor_unit_digits).unwrap_or(2),
        }));
        if response.next_page_token.is_empty() || list.len() > 1000 {
            break;
        }
        page_token = response.next_page_token;
    }
    Ok(list)
}

/// Amounts in the shopper's currency, or in dollars with a note.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The amounts, in the order given.
    pub prices: Vec<Price>,
    /// Set when the conversion failed and the prices are in dollars.
    pub note: Option<&'static str>,
}

/// Converts USD amounts into `target` (a currency the shop offers), all or none.
pub async fn convert_all(
    upstreams: &Upstreams,
    target: &CurrencyInfo,
    amounts: &[Money],
) -> Converted {
    let usd = CurrencyInfo::usd();
    let in_dollars = || Converted {
        prices: amounts.iter().map(|m| Price::new(m, Some(&usd))).collect(),
        note: None,
    };
    if target.code == USD || amounts.is_empty() {
        return in_dollars();
    }
    let mut distinct: Vec<(i64, i32)> = amounts.iter().map(|m| (m.units, m.nanos)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let calls = distinct.iter().map(|&(units, nanos)| {
        let mut client = upstreams.currency.clone();
        let request = call(
            ConvertRequest {
                amount: Some(Money {
                    currency_code: USD.to_owned(),
                    units,
                    nanos,
                }),
                to_currency_code: target.code.clone(),
            },
            upstreams.deadlines.optional,
            None,
        );
        async move {
            let converted = client.convert(request).await?.into_inner().converted;
            converted.ok_or_else(|| tonic::Status::internal("Convert returned no amount"))
        }
    });
    match futures_util::future::try_join_all(calls).await {
        Ok(results) => {
            let table: HashMap<(i64, i32), Money> = distinct.into_iter().zip(results).collect();
            let prices = amounts
                .iter()
                .map(|m| match table.get(&(m.units, m.nanos)) {
                    Some(converted) => Price::new(converted, Some(target)),
                    None => Price::new(m, Some(&usd)),
                })
                .collect();
            Converted { prices, note: None }
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), "currency conversion failed; showing US dollars");
            Converted {
                note: Some(FALLBACK_NOTE),
                ..in_dollars()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(code: &str, units: i64, nanos: i32) -> Money {
        Money {
            currency_code: code.to_owned(),
            units,
            nanos,
        }
    }

    #[test]
    fn formats_with_symbol_separators_and_minor_digits() {
        let usd = CurrencyInfo::usd();
        assert_eq!(
            format(&money("USD", 1234, 500_000_000), Some(&usd)),
            "$1,234.50"
        );
        assert_eq!(format(&money("USD", 0, 70_000_000), Some(&usd)), "$0.07");
        let yen = CurrencyInfo {
            code: "JPY".into(),
            name: "Yen".into(),
            symbol: "¥".into(),
            digits: 0,
        };
        assert_eq!(
            format(&money("JPY", 1_234_567, 0), Some(&yen)),
            "¥1,234,567"
        );
        assert_eq!(format(&money("XYZ", 3, 0), None), "XYZ 3.00");
    }

    #[test]
    fn arithmetic_is_exact() {
        let price = money("USD", 19, 990_000_000);
        assert_eq!(times(&price, 3), money("USD", 59, 970_000_000));
        let total = sum("USD", [&price, &money("USD", 0, 20_000_000)]);
        assert_eq!(total, money("USD", 20, 10_000_000));
        assert_eq!(sum("USD", []), money("USD", 0, 0));
    }

    #[test]
    fn currency_codes_are_three_capitals() {
        assert!(is_currency_code("EUR"));
        assert!(!is_currency_code("eur"));
        assert!(!is_currency_code("EURO"));
        assert!(!is_currency_code("<b>"));
    }
}
