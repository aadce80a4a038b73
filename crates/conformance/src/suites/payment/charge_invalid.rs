//! Charge's validation: every malformed card, amount, order id and request id is refused
//! with a field violation on the field at fault.

use bazaar_contract::payment::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::Code;

use super::{Client, charge_request, usd};
use crate::check::{Checked, refused, violation_within};
use crate::shopper::GOOD_CARD;
use crate::suites::{money, repeat};
use crate::target::unique;

pub(super) async fn charge_invalid(mut c: Client) -> Checked {
    let base = || charge_request(&unique("order"), usd(100), GOOD_CARD);
    let with_card = |f: &dyn Fn(&mut Card)| {
        let mut request = base();
        if let Some(card) = request.card.as_mut() {
            f(card);
        }
        request
    };
    let cases: Vec<(ChargeRequest, &str, &str)> = vec![
        (
            with_card(&|c| c.number = "4242424242424241".into()),
            "card.number",
            "a number failing the Luhn check",
        ),
        (
            with_card(&|c| c.number = "42424242424".into()),
            "card.number",
            "an 11-digit number",
        ),
        (
            with_card(&|c| c.number = "4242x42424242424".into()),
            "card.number",
            "a number with a letter",
        ),
        (
            with_card(&|c| c.expiry_month = 13),
            "card.expiry_month",
            "expiry month 13",
        ),
        (
            with_card(&|c| c.expiry_month = 0),
            "card.expiry_month",
            "expiry month 0",
        ),
        (
            with_card(&|c| c.expiry_year = 1999),
            "card.expiry_year",
            "expiry year 1999",
        ),
        (
            with_card(&|c| c.expiry_year = 2100),
            "card.expiry_year",
            "expiry year 2100",
        ),
        (
            with_card(&|c| c.cvv = "12".into()),
            "card.cvv",
            "a 2-digit CVV",
        ),
        (
            with_card(&|c| c.cvv = "12a".into()),
            "card.cvv",
            "a CVV with a letter",
        ),
        (
            with_card(&|c| {
                c.number = "378282246310005".into();
                c.cvv = "123".into();
            }),
            "card.cvv",
            "an American Express card with a 3-digit CVV",
        ),
        (
            with_card(&|c| c.holder_name = String::new()),
            "card.holder_name",
            "an empty holder name",
        ),
        (
            with_card(&|c| c.holder_name = repeat('h', 101)),
            "card.holder_name",
            "a holder name of 101 characters",
        ),
        (
            ChargeRequest {
                card: None,
                ..base()
            },
            "card",
            "no card",
        ),
        (
            ChargeRequest {
                amount: Some(usd(0)),
                ..base()
            },
            "amount",
            "amount 0",
        ),
        (
            ChargeRequest {
                amount: Some(usd(-100)),
                ..base()
            },
            "amount",
            "a negative amount",
        ),
        (
            ChargeRequest {
                amount: Some(money("USD", 1_000_000_010_000_000)),
                ..base()
            },
            "amount",
            "1000000.01 USD",
        ),
        (
            ChargeRequest {
                amount: Some(Money {
                    currency_code: "USD".into(),
                    units: 1,
                    nanos: -1,
                }),
                ..base()
            },
            "amount",
            "units and nanos of different signs",
        ),
        (
            ChargeRequest {
                amount: Some(money("usd", 100)),
                ..base()
            },
            "amount",
            "currency code \"usd\"",
        ),
        (
            ChargeRequest {
                amount: None,
                ..base()
            },
            "amount",
            "no amount",
        ),
        (
            ChargeRequest {
                order_id: String::new(),
                ..base()
            },
            "order_id",
            "an empty order_id",
        ),
        (
            ChargeRequest {
                order_id: repeat('o', 65),
                ..base()
            },
            "order_id",
            "an order_id of 65 characters",
        ),
        (
            ChargeRequest {
                request_id: String::new(),
                ..base()
            },
            "request_id",
            "an empty request_id",
        ),
        (
            ChargeRequest {
                request_id: "not valid!".into(),
                ..base()
            },
            "request_id",
            "a malformed request_id",
        ),
    ];
    for (request, field, what) in cases {
        let call = format!("Charge({what})");
        let status = refused(c.charge(request).await, Code::InvalidArgument, &call)?;
        violation_within(&status, field, &call)?;
    }
    Ok(())
}
