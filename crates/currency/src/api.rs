//! The gRPC face of the currency service.

use std::sync::Arc;

use bazaar_contract::currency::v1::{self as pb, currency_service_server::CurrencyService};
use bazaar_contract::values::ValueError;
use bazaar_contract::values::money::{SIGNS_DISAGREE, exact_nanos};
use chassis::error::{AtField, FieldViolation, Violations};
use chassis::page::Paging;
use tonic::{Request, Response, Status};

use crate::domain::{Currency, CurrencyCode, Money, MoneyError, RateTable, convert};

/// Default and largest page of ListCurrencies, as the contract documents.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// What a currency call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CurrencyError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// A well-formed code the table does not have (GetCurrency only).
    #[error("currency not supported: {0}")]
    NotFound(String),
}

impl From<CurrencyError> for Status {
    fn from(error: CurrencyError) -> Self {
        match error {
            CurrencyError::Invalid(violations) => chassis::error::invalid_argument(violations),
            CurrencyError::NotFound(code) => {
                chassis::error::not_found("bazaar.currency.v1.Currency", &code)
            }
        }
    }
}

/// The currency service, answering from one immutable rate table.
#[derive(Clone, Debug)]
pub struct CurrencyApi {
    table: Arc<RateTable>,
}

impl CurrencyApi {
    /// A service over `table`.
    pub fn new(table: RateTable) -> Self {
        Self {
            table: Arc::new(table),
        }
    }

    /// A supported currency, or a violation of `field`.
    fn supported(&self, field: &str, code: &str) -> Result<&Currency, FieldViolation> {
        let parsed = CurrencyCode::parse(code).at(field)?;
        self.table.get(parsed).ok_or_else(|| {
            FieldViolation::new(field, format!("{code} is not a supported currency"))
        })
    }
}

#[tonic::async_trait]
impl CurrencyService for CurrencyApi {
    #[tracing::instrument(skip_all)]
    async fn list_currencies(
        &self,
        request: Request<pb::ListCurrenciesRequest>,
    ) -> Result<Response<pb::ListCurrenciesResponse>, Status> {
        let request = request.into_inner();
        let paging = Paging::of(&["currencies"]).sized(DEFAULT_PAGE, MAX_PAGE);
        let mut violations = Violations::new();
        let page = paging.parse(&request, &mut violations);
        let page = violations.finish(|| page).map_err(CurrencyError::Invalid)?;
        let mut currencies: Vec<&Currency> = self
            .table
            .iter()
            .filter(|c| {
                page.position
                    .as_deref()
                    .is_none_or(|after| c.code.as_str() > after)
            })
            .take(page.size as usize + 1)
            .collect();
        let next_page_token =
            paging.next_token(&mut currencies, page.size, |c| c.code.as_str().to_owned());
        Ok(Response::new(pb::ListCurrenciesResponse {
            currencies: currencies.into_iter().map(currency_to_pb).collect(),
            next_page_token,
            rates_date: self.table.date().to_owned(),
        }))
    }

    #[tracing::instrument(skip_all, fields(code = %request.get_ref().code))]
    async fn get_currency(
        &self,
        request: Request<pb::GetCurrencyRequest>,
    ) -> Result<Response<pb::GetCurrencyResponse>, Status> {
        let code = &request.get_ref().code;
        let parsed = CurrencyCode::parse(code)
            .at("code")
            .map_err(|v| CurrencyError::Invalid(vec![v]))?;
        let currency = self
            .table
            .get(parsed)
            .ok_or_else(|| CurrencyError::NotFound(code.clone()))?;
        Ok(Response::new(pb::GetCurrencyResponse {
            currency: Some(currency_to_pb(currency)),
            rates_date: self.table.date().to_owned(),
        }))
    }

    #[tracing::instrument(skip_all, fields(to = %request.get_ref().to_currency_code))]
    async fn convert(
        &self,
        request: Request<pb::ConvertRequest>,
    ) -> Result<Response<pb::ConvertResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        let (from, amount) = match &request.amount {
            None => {
                violations.push(FieldViolation::new("amount", "is required"));
                (None, None)
            }
            Some(money) => {
                let from = self
                    .supported("amount.currency_code", &money.currency_code)
                    .map_err(|v| violations.push(v))
                    .ok();
                let amount = exact_nanos(money.units, money.nanos)
                    .map_err(|e| violations.push(amount_violation(e)))
                    .ok();
                (from, amount)
            }
        };
        let to = self
            .supported("to_currency_code", &request.to_currency_code)
            .map_err(|v| violations.push(v))
            .ok();
        let (Some(from), Some(amount), Some(to)) = (from, amount, to) else {
            return Err(CurrencyError::Invalid(violations).into());
        };
        let converted = convert(Money::from_nanos(from.code, amount), from, to)
            .and_then(|money| money.to_pb())
            .map_err(|e| CurrencyError::Invalid(vec![conversion_violation(e)]))?;
        Ok(Response::new(pb::ConvertResponse {
            converted: Some(converted),
            rates_date: self.table.date().to_owned(),
        }))
    }
}

/// A Money rule `amount` breaks. Convert's contract reports signs that disagree on
/// `amount.units`, nanos out of range on `amount.nanos`.
fn amount_violation(error: ValueError) -> FieldViolation {
    let error = if error == SIGNS_DISAGREE {
        error.blaming("units")
    } else {
        error
    };
    FieldViolation::of_value("amount", &error)
}

/// Why a well-formed amount has no conversion: its result leaves the range of a Money.
fn conversion_violation(error: MoneyError) -> FieldViolation {
    let description = match error {
        MoneyError::Overflow => "the converted amount is too large to represent".to_owned(),
        MoneyError::CurrencyMismatch { .. } => error.to_string(),
    };
    FieldViolation::new("amount", description)
}

fn currency_to_pb(currency: &Currency) -> pb::Currency {
    pb::Currency {
        code: currency.code.as_str().to_owned(),
        display_name: currency.name.clone(),
        symbol: currency.symbol.clone(),
        minor_unit_digits: currency.minor_units as i32,
        units_per_usd: currency.per_usd.to_decimal_string(),
    }
}
