//! GetCharge: empty and unknown ids refused; a charge never carries the card number.

use bazaar_contract::payment::v1::*;
use tonic::Code;

use super::{Client, charge_request, charged, get, usd};
use crate::check::{Checked, invalid, refused};
use crate::ensure;
use crate::target::unique;

pub(super) async fn get_errors(mut c: Client) -> Checked {
    invalid(
        c.get_charge(GetChargeRequest::default()).await,
        "charge_id",
        "GetCharge(\"\")",
    )?;
    refused(
        c.get_charge(GetChargeRequest {
            charge_id: unique("no-such-charge"),
        })
        .await,
        Code::NotFound,
        "GetCharge(unknown)",
    )?;
    Ok(())
}

pub(super) async fn no_secrets(mut c: Client) -> Checked {
    let request = charge_request(&unique("order"), usd(100), "5555555555554444");
    let charge = charged(&mut c, request).await?;
    let text = format!("{charge:?} {:?}", get(&mut c, &charge.id).await?);
    ensure!(
        !text.contains("5555555555554444") && !text.contains("555555555555"),
        "a charge carries the card number: {text}"
    );
    Ok(())
}
