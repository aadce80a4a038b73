//! Pricing a cart: catalog prices, converted into the order's currency, and a shipping
//! quote. Nothing is recorded yet, so every failure here is an error of the PlaceOrder call.
//!
//! Money is exact (the contract's `Money`, with checked arithmetic). Conversion is per unit: each distinct unit price (and
//! the shipping cost) is converted once by the currency service, which rounds it to the
//! currency's minor unit; lines are then `unit_price × quantity` of the rounded unit price,
//! the subtotal their sum and the total `subtotal + shipping_cost`, all exact. So the order's
//! amounts add up exactly as shown, and the total can differ by a few minor units from a
//! conversion of the USD total.
//!
//! Currency is optional: when it is unavailable (or slow: each call is bounded by
//! `--currency-timeout-ms`) the whole order is priced in USD. A currency it answers is not
//! supported is the caller's error (`currency_code`).

use std::collections::HashMap;
use std::time::Duration;

use bazaar_contract::cart::v1::CartItem;
use bazaar_contract::catalog::v1::BatchGetProductsRequest;
use bazaar_contract::currency::v1::ConvertRequest;
use bazaar_contract::shipping::v1::{GetQuoteRequest, ShipmentItem};
use bazaar_contract::types::v1::{Address, Money};
use bazaar_contract::values::{self, CurrencyCode, MoneyError};
use chassis::error::FieldViolation;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::clients::Clients;
use crate::domain::Item;
use crate::error::OrdersError;

/// A priced cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// The currency of every amount.
    pub currency: String,
    /// The lines, in cart order.
    pub items: Vec<Item>,
    /// Sum of the lines.
    pub subtotal: Money,
    /// The shipping quote, converted into the order's currency.
    pub shipping_cost: Money,
    /// `subtotal + shipping_cost`.
    pub total: Money,
    /// From the shipping quote.
    pub estimated_delivery_days: i32,
    /// The total in US dollars, before conversion (what payment's cap is stated in).
    pub usd_total: values::Money,
}

/// Prices `lines` (non-empty) shipped to `address` in `currency`.
pub async fn price(
    clients: &Clients,
    lines: &[CartItem],
    address: &Address,
    currency: CurrencyCode,
    currency_timeout: Duration,
) -> Result<Priced, OrdersError> {
    // The catalog's prices and the shipping quote do not depend on each other: asked at
    // once. Errors are reported in the same order as before, the catalog's first.
    let products = async {
        clients
            .catalog
            .clone()
            .batch_get_products(BatchGetProductsRequest {
                product_ids: lines.iter().map(|l| l.product_id.clone()).collect(),
            })
            .await
            .map_err(|status| match status.code() {
                Code::NotFound => {
                    OrdersError::ProductsNotFound(chassis::error::not_found_names(&status))
                }
                _ => OrdersError::Upstream {
                    service: "catalog",
                    status,
                },
            })
            .map(|response| response.into_inner().products)
    };
    let quote = async {
        clients
            .shipping
            .clone()
            .get_quote(GetQuoteRequest {
                address: Some(address.clone()),
                items: lines
                    .iter()
                    .map(|l| ShipmentItem {
                        product_id: l.product_id.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
            })
            .await
            .map_err(|status| match status.code() {
                Code::InvalidArgument => OrdersError::Invalid(address_violations(&status)),
                _ => OrdersError::Upstream {
                    service: "shipping",
                    status,
                },
            })
            .and_then(|response| {
                response.into_inner().quote.ok_or_else(|| {
                    OrdersError::Internal("shipping answered without a quote".to_owned())
                })
            })
    };
    let (products, quote) = tokio::join!(products, quote);
    let products = products?;
    if products.len() != lines.len()
        || products
            .iter()
            .zip(lines)
            .any(|(p, l)| p.id != l.product_id)
    {
        return Err(OrdersError::Internal(
            "catalog answered BatchGetProducts with other products than asked for".to_owned(),
        ));
    }
    let quote = quote?;

    let internal =
        |what: &str, error: MoneyError| OrdersError::Internal(format!("{what}: {error}"));
    let mut usd_prices = Vec::with_capacity(products.len());
    for product in &products {
        let price = product.price.clone().unwrap_or_default();
        exact("catalog price", &price, CurrencyCode::USD)?;
        usd_prices.push(price);
    }
    let usd_shipping = quote.cost.unwrap_or_default();
    let mut usd_total = exact("shipping cost", &usd_shipping, CurrencyCode::USD)?;
    for (line, price) in lines.iter().zip(&usd_prices) {
        let line_total = exact("catalog price", price, CurrencyCode::USD)?
            .times(i64::from(line.quantity))
            .map_err(|e| internal("line total in USD", e))?;
        usd_total = usd_total
            .checked_add(&line_total)
            .map_err(|e| internal("total in USD", e))?;
    }

    let mut amounts = usd_prices.clone();
    amounts.push(usd_shipping.clone());
    let (currency, converted) =
        match convert_all(clients, currency, &amounts, currency_timeout).await? {
            Some(converted) => (currency, converted),
            None => (CurrencyCode::USD, amounts),
        };
    let (shipping_cost, unit_prices) = converted
        .split_last()
        .ok_or_else(|| OrdersError::Internal("no amounts converted".to_owned()))?;

    let mut items = Vec::with_capacity(lines.len());
    let mut subtotal = values::Money::zero(currency);
    for ((line, product), unit_price) in lines.iter().zip(&products).zip(unit_prices) {
        let unit = exact("unit price", unit_price, currency)?;
        let line_total = unit
            .times(i64::from(line.quantity))
            .map_err(|e| internal("line total", e))?;
        subtotal = subtotal
            .checked_add(&line_total)
            .map_err(|e| internal("subtotal", e))?;
        items.push(Item {
            product_id: product.id.clone(),
            name: product.name.clone(),
            picture_uri: product.picture_uri.clone(),
            quantity: line.quantity,
            unit_price: unit_price.clone(),
        });
    }
    let shipping = exact("shipping", shipping_cost, currency)?;
    let total = subtotal
        .checked_add(&shipping)
        .map_err(|e| internal("total", e))?;
    Ok(Priced {
        currency: currency.as_str().to_owned(),
        items,
        subtotal: subtotal.to_pb().map_err(|e| internal("subtotal", e))?,
        shipping_cost: shipping_cost.clone(),
        total: total.to_pb().map_err(|e| internal("total", e))?,
        estimated_delivery_days: quote.estimated_delivery_days,
        usd_total,
    })
}

/// An amount another service sent, checked: a valid Money in `currency`, or an internal
/// error (that service broke the contract).
fn exact(what: &str, money: &Money, currency: CurrencyCode) -> Result<values::Money, OrdersError> {
    let broken = |problem: String| OrdersError::Internal(format!("{what}: {problem}"));
    values::Money::parse(money)
        .map_err(|errors| {
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            broken(problems.join("; "))
        })?
        .in_currency(currency)
        .map_err(|e| broken(e.to_string()))
}

/// `amounts` (USD) converted into `target`, in the same order; `None` to price in USD
/// instead (USD asked for, or currency unavailable); an error for an unsupported currency.
async fn convert_all(
    clients: &Clients,
    target: CurrencyCode,
    amounts: &[Money],
    timeout: Duration,
) -> Result<Option<Vec<Money>>, OrdersError> {
    if target == CurrencyCode::USD {
        return Ok(None);
    }
    let unsupported = || {
        OrdersError::Invalid(vec![FieldViolation::new(
            "currency_code",
            "is not a currency the shop supports (see CurrencyService.ListCurrencies)",
        )])
    };
    // Each distinct amount once, all at once (the calls run concurrently, each within the
    // deadline of the PlaceOrder call). A currency the shop does not support is named by
    // Convert's own field violation (`to_currency_code`); no separate lookup is needed.
    let deadline = chassis::deadline::current();
    let mut distinct: Vec<Money> = Vec::new();
    for amount in amounts {
        if !distinct.contains(amount) {
            distinct.push(amount.clone());
        }
    }
    let mut calls = tokio::task::JoinSet::new();
    for (index, amount) in distinct.iter().enumerate() {
        let mut client = clients.currency.clone();
        let mut request = tonic::Request::new(ConvertRequest {
            amount: Some(amount.clone()),
            to_currency_code: target.as_str().to_owned(),
        });
        request.set_timeout(timeout);
        let call = async move { (index, client.convert(request).await) };
        match deadline {
            Some(deadline) => calls.spawn(chassis::deadline::scope(deadline, call)),
            None => calls.spawn(call),
        };
    }
    let mut converted: HashMap<usize, Money> = HashMap::new();
    while let Some(joined) = calls.join_next().await {
        let (index, result) = joined
            .map_err(|e| OrdersError::Internal(format!("currency conversion task failed: {e}")))?;
        match result.map(|r| r.into_inner().converted) {
            Ok(Some(money))
                if values::Money::parse(&money).is_ok_and(|m| m.currency() == target) =>
            {
                converted.insert(index, money);
            }
            Ok(_) => {
                tracing::warn!("currency answered a malformed conversion: pricing in USD");
                return Ok(None);
            }
            Err(status) if names_field(&status, "to_currency_code") => return Err(unsupported()),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(),
                    "currency conversion failed: pricing in USD");
                return Ok(None);
            }
        }
    }
    amounts
        .iter()
        .map(|usd| {
            distinct
                .iter()
                .position(|d| d == usd)
                .and_then(|i| converted.get(&i))
                .cloned()
                .ok_or_else(|| OrdersError::Internal("an amount was not converted".to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Whether an INVALID_ARGUMENT names `field`.
fn names_field(status: &Status, field: &str) -> bool {
    status.code() == Code::InvalidArgument
        && status
            .get_details_bad_request()
            .is_some_and(|b| b.field_violations.iter().any(|v| v.field == field))
}

/// shipping's field violations on `address.*`, renamed to the request's
/// `shipping_address.*`.
fn address_violations(status: &Status) -> Vec<FieldViolation> {
    let violations: Vec<FieldViolation> = status
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let field = match v.field.strip_prefix("address") {
                Some(rest) => format!("shipping_address{rest}"),
                None => v.field,
            };
            FieldViolation::new(field, v.description)
        })
        .collect();
    if violations.is_empty() {
        vec![FieldViolation::new(
            "shipping_address",
            format!("cannot be shipped to: {}", status.message()),
        )]
    } else {
        violations
    }
}
