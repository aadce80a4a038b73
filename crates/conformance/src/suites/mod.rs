//! One suite per service. Each `run` goes through the promises of its service's contract,
//! one check per promise, in the order a reader of the proto file meets them.

pub mod cart;
pub mod catalog;
pub mod currency;
pub mod identity;
pub mod inventory;
pub mod notification;
pub mod orders;
pub mod payment;
pub mod recommendation;
pub mod shipping;

use std::time::{Duration, SystemTime};

use bazaar_contract::types::v1::Money;

use crate::check::{Checked, fail};

/// Whether `id` is a slug: `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn is_slug(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// An amount in nanos (10^-9 units) as one exact integer.
pub fn nanos(money: &Money) -> i128 {
    i128::from(money.units) * 1_000_000_000 + i128::from(money.nanos)
}

/// A Money of `nanos` in `currency_code`.
pub fn money(currency_code: &str, nanos: i128) -> Money {
    Money {
        currency_code: currency_code.to_owned(),
        units: i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos % 1_000_000_000).unwrap_or_default(),
    }
}

/// `money` as "12.345000000 USD", for messages.
pub fn show(money: &Money) -> String {
    let n = nanos(money);
    let sign = if n < 0 { "-" } else { "" };
    let n = n.abs();
    format!(
        "{sign}{}.{:09} {}",
        n / 1_000_000_000,
        n % 1_000_000_000,
        money.currency_code
    )
}

/// Checks that `money` is a valid Money (nanos in range, signs agree) in `currency_code`.
pub fn valid_money(money: Option<&Money>, currency_code: &str, what: &str) -> Checked<Money> {
    let Some(money) = money else {
        return fail(format!("{what} is missing"));
    };
    crate::ensure!(
        money.currency_code == currency_code,
        "{what} is in {:?}, expected {currency_code:?}",
        money.currency_code
    );
    crate::ensure!(
        (-999_999_999..=999_999_999).contains(&money.nanos),
        "{what} has nanos {} out of range",
        money.nanos
    );
    crate::ensure!(
        !(money.units > 0 && money.nanos < 0 || money.units < 0 && money.nanos > 0),
        "{what} has units {} and nanos {} of different signs",
        money.units,
        money.nanos
    );
    Ok(money.clone())
}

/// `time` as (seconds, nanos), to compare for order; a missing time is the earliest.
pub fn instant(time: Option<&prost_types::Timestamp>) -> (i64, i32) {
    time.map_or((0, 0), |t| (t.seconds, t.nanos))
}

/// How far `time` is from now (positive: in the future).
pub fn from_now(time: Option<&prost_types::Timestamp>) -> Option<f64> {
    let time = time?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    Some(time.seconds as f64 + f64::from(time.nanos) / 1e9 - now)
}

/// A string of `n` copies of `c`.
pub fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// Waits `ms` milliseconds between two polls.
pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// An optional message for a failure line.
pub fn show_none<T: std::fmt::Debug>(value: &Option<T>) -> String {
    match value {
        Some(value) => crate::check::short(&format!("{value:?}")),
        None => "nothing".to_owned(),
    }
}
