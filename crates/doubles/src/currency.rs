//! The currency double: USD, EUR ("0.9213" per USD) and JPY ("156.42", no minor unit),
//! with exact conversion from USD rounded once, half to even, as the real one.

use bazaar_contract::currency::v1::currency_service_server::CurrencyService;
use bazaar_contract::currency::v1::*;
use bazaar_contract::types::v1::Money;
use chassis::error::FieldViolation;
use tonic::{Request, Response, Status};

use crate::{Shared, down};

/// The currency double's switch and what it counted.
#[derive(Debug, Default)]
pub struct CurrencyState {
    /// Every call answers UNAVAILABLE.
    pub down: bool,
    /// Convert calls answered (not counting those refused while down).
    pub converts: usize,
}

/// The double; clones share its state.
#[derive(Clone, Debug, Default)]
pub struct CurrencyDouble(pub Shared<CurrencyState>);

/// (code, units per USD × 10^9, minor unit digits)
const RATES: [(&str, i128, u32); 3] = [
    ("USD", 1_000_000_000, 2),
    ("EUR", 921_300_000, 2),
    ("JPY", 156_420_000_000, 0),
];

fn rate(code: &str) -> Option<(i128, u32)> {
    RATES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, rate, digits)| (*rate, *digits))
}

#[tonic::async_trait]
impl CurrencyService for CurrencyDouble {
    async fn get_currency(
        &self,
        request: Request<GetCurrencyRequest>,
    ) -> Result<Response<GetCurrencyResponse>, Status> {
        if self.0.lock().down {
            return Err(down());
        }
        let code = &request.get_ref().code;
        let Some((_, digits)) = rate(code) else {
            return Err(chassis::error::not_found(
                "bazaar.currency.v1.Currency",
                code,
            ));
        };
        Ok(Response::new(GetCurrencyResponse {
            currency: Some(Currency {
                code: code.clone(),
                display_name: code.clone(),
                symbol: code.clone(),
                minor_unit_digits: digits as i32,
                units_per_usd: String::new(),
            }),
            rates_date: "2025-11-28".to_owned(),
        }))
    }

    async fn convert(
        &self,
        request: Request<ConvertRequest>,
    ) -> Result<Response<ConvertResponse>, Status> {
        {
            let mut state = self.0.lock();
            if state.down {
                return Err(down());
            }
            state.converts += 1;
        }
        let request = request.into_inner();
        let amount = request.amount.unwrap();
        assert_eq!(amount.currency_code, "USD", "orders converts from USD only");
        let Some((rate, digits)) = rate(&request.to_currency_code) else {
            return Err(chassis::error::invalid_argument([FieldViolation::new(
                "to_currency_code",
                "not supported",
            )]));
        };
        let nanos = i128::from(amount.units) * 1_000_000_000 + i128::from(amount.nanos);
        let unit = 10_i128.pow(9 - digits);
        let numerator = nanos * rate;
        let denominator = 1_000_000_000 * unit;
        let mut quotient = numerator.div_euclid(denominator);
        let remainder = numerator.rem_euclid(denominator);
        if 2 * remainder > denominator || (2 * remainder == denominator && quotient % 2 == 1) {
            quotient += 1;
        }
        let result = quotient * unit;
        Ok(Response::new(ConvertResponse {
            converted: Some(Money {
                currency_code: request.to_currency_code,
                units: (result / 1_000_000_000) as i64,
                nanos: (result % 1_000_000_000) as i32,
            }),
            rates_date: "2025-11-28".to_owned(),
        }))
    }

    async fn list_currencies(
        &self,
        _: Request<ListCurrenciesRequest>,
    ) -> Result<Response<ListCurrenciesResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }
}
