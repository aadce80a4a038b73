//! The currencies the shop offers, and the one a shopper's prices are shown in.
//!
//! The list comes from the currency service, an optional one: [`crate::money::Currencies`]
//! keeps it for a while, and without it the shop offers US dollars only. The catalog prices
//! in dollars, so dollars never need the currency service.

use std::sync::Arc;

use crate::app::App;
use crate::money::{CurrencyInfo, USD};

/// Every currency on offer (only the US dollar when the currency service cannot say).
pub async fn offered(app: &App) -> Arc<Vec<CurrencyInfo>> {
    app.currencies.list(&app.upstreams).await
}

/// What is known of the currency `code`, if the shop offers it.
pub async fn info(app: &App, code: &str) -> Option<CurrencyInfo> {
    if code == USD {
        return Some(CurrencyInfo::usd());
    }
    app.currencies.find(&app.upstreams, code).await
}

/// The currency to show prices in for a shopper who chose `code` (any case; empty for
/// none): that currency when the shop offers it, otherwise US dollars.
pub async fn target(app: &App, code: &str) -> CurrencyInfo {
    let code = code.to_uppercase();
    if code.is_empty() {
        return CurrencyInfo::usd();
    }
    info(app, &code).await.unwrap_or_else(CurrencyInfo::usd)
}
