//! Request ids: retries replay, reuse is refused, concurrent calls charge once; and at most
//! one paid charge per order.

use std::time::Duration;

use bazaar_contract::payment::v1::*;
use payment::domain::ChargeOrder;
use payment::store::{ChargeStore, Claim, NewClaim};
use tonic::Code;

use crate::support::*;

pub(crate) async fn retries_replay_the_first_result(running: &Running) {
    let mut client = running.client.clone();
    let first = charge(
        &mut client,
        charge_request("idem-1", "idem-order-1", "4242424242424242"),
    )
    .await
    .unwrap();
    running.clock.advance(Duration::from_secs(5));
    let retry = charge(
        &mut client,
        charge_request("idem-1", "idem-order-1", "4242424242424242"),
    )
    .await
    .unwrap();
    assert_eq!(retry, first, "the retry returns the first charge");

    // What the fingerprint leaves out (how the number is typed, CVV, holder) may differ.
    let mut same = charge_request("idem-1", "idem-order-1", "4242 4242 4242 4242");
    let typed = same.card.as_mut().unwrap();
    typed.cvv = "999".to_owned();
    typed.holder_name = "A. Lovelace".to_owned();
    assert_eq!(charge(&mut client, same).await.unwrap(), first);
    assert_eq!(
        list_all(&mut client, "idem-order-1", 10).await,
        vec![first.clone()]
    );

    // The same id with other parameters is refused, and changes nothing.
    type Change = fn(&mut ChargeRequest);
    let changes: [Change; 5] = [
        |r| r.amount = Some(money("USD", 25, 510_000_000)),
        |r| r.amount = Some(money("EUR", 25, 500_000_000)),
        |r| r.order_id = "idem-order-other".to_owned(),
        |r| r.card = Some(card("5555555555554444")),
        |r| r.card.as_mut().unwrap().expiry_year = 2032,
    ];
    for change in changes {
        let mut request = charge_request("idem-1", "idem-order-1", "4242424242424242");
        change(&mut request);
        let status = charge(&mut client, request).await.unwrap_err();
        assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");
    }
    assert_eq!(
        list_all(&mut client, "idem-order-1", 10).await,
        vec![first.clone()]
    );
    assert!(
        list_all(&mut client, "idem-order-other", 10)
            .await
            .is_empty()
    );

    // A decline is replayed too, with the same charge.
    let request = charge_request("idem-2", "idem-order-2", "4000000000009995");
    let first_decline = charge(&mut client, request.clone()).await.unwrap_err();
    let again = charge(&mut client, request).await.unwrap_err();
    let first_meta = assert_reason(&first_decline, Code::FailedPrecondition, "CARD_DECLINED");
    let again_meta = assert_reason(&again, Code::FailedPrecondition, "CARD_DECLINED");
    assert_eq!(first_meta, again_meta);
    assert_eq!(list_all(&mut client, "idem-order-2", 10).await.len(), 1);

    // A retry after a refund finds the charge REFUNDED.
    refund(&mut client, "idem-refund-1", &first.id)
        .await
        .unwrap();
    let retry = charge(
        &mut client,
        charge_request("idem-1", "idem-order-1", "4242424242424242"),
    )
    .await
    .unwrap();
    assert_eq!(retry.id, first.id);
    assert_eq!(retry.status(), ChargeStatus::Refunded);
}

pub(crate) async fn an_order_is_paid_at_most_once(running: &Running) {
    let mut client = running.client.clone();
    let paid = charge(
        &mut client,
        charge_request("once-1", "once-order", "4242424242424242"),
    )
    .await
    .unwrap();
    let status = charge(
        &mut client,
        charge_request("once-2", "once-order", "5555555555554444"),
    )
    .await
    .unwrap_err();
    let metadata = assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_CHARGED");
    assert_eq!(metadata["charge_id"], paid.id);
    // Nothing was recorded for the refused call, and a refunded order stays paid.
    assert_eq!(
        list_all(&mut client, "once-order", 10).await,
        vec![paid.clone()]
    );
    refund(&mut client, "once-refund", &paid.id).await.unwrap();
    let status = charge(
        &mut client,
        charge_request("once-3", "once-order", "5555555555554444"),
    )
    .await
    .unwrap_err();
    let metadata = assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_CHARGED");
    assert_eq!(metadata["charge_id"], paid.id);
    assert_eq!(list_all(&mut client, "once-order", 10).await.len(), 1);
}

pub(crate) async fn concurrent_identical_charges_charge_once(running: &Running) {
    for round in 0..3 {
        let order = format!("race-same-{round}");
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut client = running.client.clone();
            let request = charge_request(&order, &order, "4242424242424242");
            tasks.push(tokio::spawn(
                async move { charge(&mut client, request).await },
            ));
        }
        let mut charged = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(charge) => charged.push(charge),
                // The winner was still running: the contract's "retry later".
                Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
            }
        }
        assert!(!charged.is_empty(), "the winner answers");
        assert!(charged.iter().all(|c| *c == charged[0]));
        let mut client = running.client.clone();
        let ledger = list_all(&mut client, &order, 10).await;
        assert_eq!(
            ledger,
            vec![charged[0].clone()],
            "exactly one charge recorded"
        );
        let retry = charge(
            &mut client,
            charge_request(&order, &order, "4242424242424242"),
        )
        .await
        .unwrap();
        assert_eq!(retry, charged[0]);
    }
}

pub(crate) async fn concurrent_charges_of_one_order_pay_once(running: &Running) {
    let order = "race-order";
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut client = running.client.clone();
        let request = charge_request(&format!("race-order-{i}"), order, "4242424242424242");
        tasks.push(tokio::spawn(
            async move { charge(&mut client, request).await },
        ));
    }
    let mut paid = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(charge) => paid.push(charge),
            Err(status) => {
                assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_CHARGED");
            }
        }
    }
    assert_eq!(paid.len(), 1, "one call pays");
    let mut client = running.client.clone();
    assert_eq!(list_all(&mut client, order, 10).await, paid);
}

/// A claim whose call is still running makes a retry ABORTED; once the claim is older than
/// the lease (its call died), a retry takes it over and finishes the charge.
pub(crate) async fn a_call_in_flight_is_aborted_then_taken_over(running: &Running) {
    let request = charge_request("in-flight", "in-flight", "4242424242424242");
    let order = ChargeOrder::parse(&request).unwrap();
    let pool = chassis::store::connect(&running.database_url)
        .await
        .unwrap();
    let store = ChargeStore::new(pool.clone());
    let claim = NewClaim {
        charge_id: "ch_claimed_by_a_dead_call",
        request_id: order.request_id.as_str(),
        fingerprint: &order.fingerprint(),
        order_id: order.order_id.as_str(),
        amount: &order.amount,
        card_brand: order.card.brand(),
        card_last4: order.card.last4(),
    };
    let now = running.clock_now_ms();
    assert!(matches!(
        store.claim(&claim, now, 30_000).await.unwrap(),
        Claim::Won { .. }
    ));

    let mut client = running.client.clone();
    let status = charge(&mut client, request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    // A claim is not a charge.
    assert!(list_all(&mut client, "in-flight", 10).await.is_empty());
    assert_eq!(
        get(&mut client, "ch_claimed_by_a_dead_call")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // Other parameters are still a reuse of the id.
    let mut other = request.clone();
    other.amount = Some(money("USD", 1, 0));
    let status = charge(&mut client, other).await.unwrap_err();
    assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");

    running.clock.advance(Duration::from_secs(29));
    let status = charge(&mut client, request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    running.clock.advance(Duration::from_secs(2));
    let charged = charge(&mut client, request.clone()).await.unwrap();
    assert_eq!(charged.id, "ch_claimed_by_a_dead_call");
    assert_eq!(charged.status(), ChargeStatus::Succeeded);
    assert_eq!(
        list_all(&mut client, "in-flight", 10).await,
        vec![charged.clone()]
    );
    assert_eq!(charge(&mut client, request).await.unwrap(), charged);
    pool.close().await;
}
