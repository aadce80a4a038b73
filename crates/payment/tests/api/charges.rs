//! Charge: the test cards, expiry by the service's clock, and bad input.

use std::time::Duration;

use bazaar_contract::payment::v1::*;
use chassis::testing::violated_fields;
use tonic::Code;

use crate::support::*;

pub(crate) async fn test_cards_succeed_decline_or_fail(running: &Running) {
    let mut client = running.client.clone();
    let now_seconds = running.clock_now_ms() / 1000;

    for (i, (number, brand, last4)) in [
        ("4242424242424242", CardBrand::Visa, "4242"),
        ("5555555555554444", CardBrand::Mastercard, "4444"),
        ("378282246310005", CardBrand::AmericanExpress, "0005"),
        ("6011111111111117", CardBrand::Discover, "1117"),
        ("3530111333300000", CardBrand::Other, "0000"),
        // Spaces and hyphens are ignored.
        ("4000 0566-5566 5556", CardBrand::Visa, "5556"),
    ]
    .into_iter()
    .enumerate()
    {
        let order = format!("cards-ok-{i}");
        let charged = charge(
            &mut client,
            charge_request(&format!("cards-ok-{i}"), &order, number),
        )
        .await
        .unwrap_or_else(|s| panic!("{number}: {s:?}"));
        assert_eq!(charged.status(), ChargeStatus::Succeeded, "{number}");
        assert_eq!(charged.card_brand(), brand, "{number}");
        assert_eq!(charged.card_last4, last4);
        assert_eq!(charged.order_id, order);
        assert_eq!(charged.amount, Some(money("USD", 25, 500_000_000)));
        assert_eq!(charged.decline_reason(), DeclineReason::Unspecified);
        assert_eq!(charged.create_time.as_ref().unwrap().seconds, now_seconds);
        assert!(charged.refund_time.is_none());
        assert!(!charged.id.is_empty() && charged.id.len() <= 64);
        assert_eq!(get(&mut client, &charged.id).await.unwrap(), charged);
    }

    // The cap is a value, not a number of units: about 40 US dollars in currencies where
    // that is more than a million units is charged.
    for (code, units) in [("VND", 1_054_000), ("IDR", 666_000)] {
        let order = format!("cards-weak-{code}");
        let mut request = charge_request(&order, &order, "4242424242424242");
        request.amount = Some(money(code, units, 0));
        let charged = charge(&mut client, request)
            .await
            .unwrap_or_else(|s| panic!("{code}: {s:?}"));
        assert_eq!(charged.status(), ChargeStatus::Succeeded, "{code}");
        assert_eq!(charged.amount, Some(money(code, units, 0)));
    }

    // Declines are errors, and recorded.
    for (i, (number, reason)) in [
        ("4000000000000002", DeclineReason::Generic),
        ("4000000000009995", DeclineReason::InsufficientFunds),
        ("4000000000000069", DeclineReason::ExpiredCard),
        ("4000000000000127", DeclineReason::IncorrectCvv),
    ]
    .into_iter()
    .enumerate()
    {
        let order = format!("cards-declined-{i}");
        let status = charge(&mut client, charge_request(&order, &order, number))
            .await
            .unwrap_err();
        let metadata = assert_reason(&status, Code::FailedPrecondition, "CARD_DECLINED");
        assert_eq!(metadata["decline_reason"], reason.as_str_name());
        assert!(!status.message().is_empty());
        let declined = get(&mut client, &metadata["charge_id"]).await.unwrap();
        assert_eq!(declined.status(), ChargeStatus::Declined);
        assert_eq!(declined.decline_reason(), reason);
        assert_eq!(declined.order_id, order);
        assert_eq!(list_all(&mut client, &order, 10).await, vec![declined]);

        // A declined charge does not count: another card may pay for the order.
        let paid = charge(
            &mut client,
            charge_request(&format!("{order}-again"), &order, "4242424242424242"),
        )
        .await
        .unwrap();
        assert_eq!(paid.status(), ChargeStatus::Succeeded);
        assert_eq!(list_all(&mut client, &order, 10).await.len(), 2);
    }

    // A processing error: UNAVAILABLE every time, nothing recorded, the request id free.
    let order = "cards-transient";
    for _ in 0..2 {
        let status = charge(
            &mut client,
            charge_request("cards-transient", order, "4000000000000119"),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    assert!(list_all(&mut client, order, 10).await.is_empty());
    let paid = charge(
        &mut client,
        charge_request("cards-transient-2", order, "4242424242424242"),
    )
    .await
    .unwrap();
    assert_eq!(list_all(&mut client, order, 10).await, vec![paid]);
}

/// Moves the service's clock: run it after the tests that compare times.
pub(crate) async fn expiry_follows_the_services_clock(running: &Running) {
    let mut client = running.client.clone();
    let with_expiry = |request_id: &str, order: &str, month: i32, year: i32| {
        let mut request = charge_request(request_id, order, "4242424242424242");
        let card = request.card.as_mut().unwrap();
        card.expiry_month = month;
        card.expiry_year = year;
        request
    };
    // The clock says 15 June 2030: a card is good through its expiry month.
    let paid = charge(&mut client, with_expiry("expiry-1", "expiry-1", 6, 2030))
        .await
        .unwrap();
    assert_eq!(paid.status(), ChargeStatus::Succeeded);
    for (i, (month, year)) in [(5, 2030), (12, 2029), (1, 2000)].into_iter().enumerate() {
        let id = format!("expiry-past-{i}");
        let status = charge(&mut client, with_expiry(&id, &id, month, year))
            .await
            .unwrap_err();
        let metadata = assert_reason(&status, Code::FailedPrecondition, "CARD_DECLINED");
        assert_eq!(metadata["decline_reason"], "DECLINE_REASON_EXPIRED_CARD");
        let declined = get(&mut client, &metadata["charge_id"]).await.unwrap();
        assert_eq!(declined.decline_reason(), DeclineReason::ExpiredCard);
    }
    // In July, the June card has expired.
    running.clock.advance(Duration::from_secs(16 * 24 * 3600));
    let status = charge(&mut client, with_expiry("expiry-2", "expiry-2", 6, 2030))
        .await
        .unwrap_err();
    let metadata = assert_reason(&status, Code::FailedPrecondition, "CARD_DECLINED");
    assert_eq!(metadata["decline_reason"], "DECLINE_REASON_EXPIRED_CARD");
    charge(&mut client, with_expiry("expiry-3", "expiry-3", 7, 2030))
        .await
        .unwrap();
}

pub(crate) async fn bad_input_names_its_field(running: &Running) {
    let mut client = running.client.clone();
    let good = || charge_request("bad-input", "bad-input", "4242424242424242");
    type Change = fn(&mut ChargeRequest);
    let cases: Vec<(Change, &[&str])> = vec![
        (|r| r.request_id = String::new(), &["request_id"]),
        (
            |r| r.request_id = "not allowed!".to_owned(),
            &["request_id"],
        ),
        (|r| r.request_id = "r".repeat(65), &["request_id"]),
        (|r| r.order_id = String::new(), &["order_id"]),
        (|r| r.order_id = "o".repeat(65), &["order_id"]),
        (|r| r.amount = None, &["amount"]),
        (|r| r.amount = Some(money("USD", 0, 0)), &["amount"]),
        (|r| r.amount = Some(money("USD", -5, 0)), &["amount"]),
        (|r| r.amount = Some(money("USD", 0, -1)), &["amount"]),
        (
            |r| r.amount = Some(money("usd", 5, 0)),
            &["amount.currency_code"],
        ),
        (
            |r| r.amount = Some(money("", 5, 0)),
            &["amount.currency_code"],
        ),
        (
            |r| r.amount = Some(money("USD", 5, 1_000_000_000)),
            &["amount.nanos"],
        ),
        (
            |r| r.amount = Some(money("USD", 0, -1_000_000_000)),
            &["amount.nanos"],
        ),
        (|r| r.amount = Some(money("USD", 5, -1)), &["amount.nanos"]),
        (
            |r| r.amount = Some(money("USD", 1_000_001, 0)),
            &["amount.units"],
        ),
        (
            |r| r.amount = Some(money("USD", 1_000_000, 1)),
            &["amount.units"],
        ),
        // The cap is a value: far more dong than the equivalent of 1,000,000 US dollars.
        (
            |r| r.amount = Some(money("VND", 27_000_000_001, 0)),
            &["amount.units"],
        ),
        (
            |r| r.amount = Some(money("JPY", i64::MAX, 0)),
            &["amount.units"],
        ),
        (|r| r.card = None, &["card"]),
        (
            |r| r.card.as_mut().unwrap().number = "4242424242424241".to_owned(),
            &["card.number"],
        ),
        (
            |r| r.card.as_mut().unwrap().number = String::new(),
            &["card.number"],
        ),
        (
            |r| r.card.as_mut().unwrap().number = "4242-abcd-4242-4242".to_owned(),
            &["card.number"],
        ),
        (
            |r| r.card.as_mut().unwrap().number = "42424242426".to_owned(),
            &["card.number"],
        ),
        (
            |r| r.card.as_mut().unwrap().number = "4".repeat(20),
            &["card.number"],
        ),
        (
            |r| r.card.as_mut().unwrap().expiry_month = 0,
            &["card.expiry_month"],
        ),
        (
            |r| r.card.as_mut().unwrap().expiry_month = 13,
            &["card.expiry_month"],
        ),
        (
            |r| r.card.as_mut().unwrap().expiry_year = 31,
            &["card.expiry_year"],
        ),
        (
            |r| r.card.as_mut().unwrap().expiry_year = 2100,
            &["card.expiry_year"],
        ),
        (
            |r| r.card.as_mut().unwrap().cvv = String::new(),
            &["card.cvv"],
        ),
        (
            |r| r.card.as_mut().unwrap().cvv = "12".to_owned(),
            &["card.cvv"],
        ),
        (
            |r| r.card.as_mut().unwrap().cvv = "1234".to_owned(),
            &["card.cvv"],
        ),
        (
            |r| r.card.as_mut().unwrap().cvv = "12a".to_owned(),
            &["card.cvv"],
        ),
        (
            |r| {
                let card = r.card.as_mut().unwrap();
                card.number = "378282246310005".to_owned();
                card.cvv = "123".to_owned();
            },
            &["card.cvv"],
        ),
        (
            |r| r.card.as_mut().unwrap().holder_name = " ".to_owned(),
            &["card.holder_name"],
        ),
        (
            |r| r.card.as_mut().unwrap().holder_name = "h".repeat(101),
            &["card.holder_name"],
        ),
        (
            |r| {
                r.request_id = String::new();
                r.order_id = String::new();
                r.amount = Some(money("USD", 0, 0));
                r.card.as_mut().unwrap().number = "4242424242424241".to_owned();
                r.card.as_mut().unwrap().expiry_month = 13;
            },
            &[
                "request_id",
                "order_id",
                "amount",
                "card.number",
                "card.expiry_month",
            ],
        ),
    ];
    for (change, fields) in cases {
        let mut request = good();
        change(&mut request);
        let number = request.card.as_ref().map(|c| c.number.clone());
        let status = charge(&mut client, request).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{fields:?}: {status:?}"
        );
        assert_eq!(violated_fields(&status), fields, "{status:?}");
        // The number is never echoed.
        if let Some(number) = number.filter(|n| n.len() > 4) {
            assert!(!status.message().contains(&number), "{status:?}");
        }
    }
    // Nothing was recorded, and the request id is still free.
    assert!(list_all(&mut client, "bad-input", 10).await.is_empty());
    charge(&mut client, good()).await.unwrap();
}
