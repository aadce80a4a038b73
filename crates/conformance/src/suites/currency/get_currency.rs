//! GetCurrency: each listed currency with the listing's rates_date; malformed and
//! unsupported codes refused.

use bazaar_contract::currency::v1::*;
use tonic::Code;

use super::{Client, all, unsupported};
use crate::check::{Checked, invalid, ok, refused};
use crate::ensure;

pub(super) async fn gettable(mut c: Client) -> Checked {
    let (currencies, date) = all(&c, 200).await?;
    for cur in currencies {
        let got = ok(
            c.get_currency(GetCurrencyRequest {
                code: cur.code.clone(),
            })
            .await,
            "GetCurrency",
        )?;
        ensure!(
            got.currency.as_ref() == Some(&cur),
            "GetCurrency({}) differs from the listing: {:?}",
            cur.code,
            got.currency
        );
        ensure!(
            got.rates_date == date,
            "GetCurrency({}) has rates_date {:?}, the listing {date:?}",
            cur.code,
            got.rates_date
        );
    }
    Ok(())
}

pub(super) async fn get_errors(mut c: Client) -> Checked {
    for code in ["eur", "EU", "EURO", "", "E1R"] {
        invalid(
            c.get_currency(GetCurrencyRequest { code: code.into() })
                .await,
            "code",
            &format!("GetCurrency({code:?})"),
        )?;
    }
    let code = unsupported(&c).await?;
    refused(
        c.get_currency(GetCurrencyRequest { code: code.clone() })
            .await,
        Code::NotFound,
        &format!("GetCurrency({code:?})"),
    )?;
    Ok(())
}
