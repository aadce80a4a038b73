//! Refund: in full, once; a second refund is a no-op; declined charges are not refundable.

use std::time::Duration;

use bazaar_contract::payment::v1::*;
use chassis::testing::assert_invalid;
use tonic::Code;

use crate::support::*;

pub(crate) async fn refunds_happen_once(running: &Running) {
    let mut client = running.client.clone();
    let paid = charge(
        &mut client,
        charge_request("refund-c1", "refund-o1", "4242424242424242"),
    )
    .await
    .unwrap();
    running.clock.advance(Duration::from_secs(60));
    let refunded_at = running.clock_now_ms() / 1000;
    let refunded = refund(&mut client, "refund-r1", &paid.id).await.unwrap();
    assert_eq!(refunded.status(), ChargeStatus::Refunded);
    assert_eq!(refunded.refund_time.as_ref().unwrap().seconds, refunded_at);
    assert_eq!(refunded.id, paid.id);
    assert_eq!(refunded.amount, paid.amount);
    assert_eq!(refunded.create_time, paid.create_time);
    assert_eq!(get(&mut client, &paid.id).await.unwrap(), refunded);

    // Again, with the same id or another: the charge unchanged.
    running.clock.advance(Duration::from_secs(60));
    assert_eq!(
        refund(&mut client, "refund-r1", &paid.id).await.unwrap(),
        refunded
    );
    assert_eq!(
        refund(&mut client, "refund-r2", &paid.id).await.unwrap(),
        refunded
    );
    assert_eq!(get(&mut client, &paid.id).await.unwrap(), refunded);

    // A refund id belongs to the charge it refunded.
    let other = charge(
        &mut client,
        charge_request("refund-c2", "refund-o2", "4242424242424242"),
    )
    .await
    .unwrap();
    let status = refund(&mut client, "refund-r1", &other.id)
        .await
        .unwrap_err();
    assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");
    assert_eq!(
        get(&mut client, &other.id).await.unwrap().status(),
        ChargeStatus::Succeeded
    );

    // Concurrent refunds of one charge: all see the one refund.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut client = running.client.clone();
        let id = other.id.clone();
        tasks.push(tokio::spawn(async move {
            refund(&mut client, &format!("refund-race-{}", i % 4), &id).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().expect("concurrent refund"));
    }
    assert!(results.iter().all(|r| *r == results[0]));
    assert_eq!(results[0].status(), ChargeStatus::Refunded);
    assert_eq!(get(&mut client, &other.id).await.unwrap(), results[0]);
}

pub(crate) async fn only_succeeded_charges_are_refundable(running: &Running) {
    let mut client = running.client.clone();
    let status = charge(
        &mut client,
        charge_request("refund-declined", "refund-declined", "4000000000000002"),
    )
    .await
    .unwrap_err();
    let metadata = assert_reason(&status, Code::FailedPrecondition, "CARD_DECLINED");
    let declined = &metadata["charge_id"];
    let status = refund(&mut client, "refund-declined-r", declined)
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "CHARGE_NOT_REFUNDABLE");
    assert_eq!(
        get(&mut client, declined).await.unwrap().status(),
        ChargeStatus::Declined
    );
    // The failed refund did not keep its request id.
    let paid = charge(
        &mut client,
        charge_request("refund-declined-2", "refund-declined", "4242424242424242"),
    )
    .await
    .unwrap();
    refund(&mut client, "refund-declined-r", &paid.id)
        .await
        .unwrap();

    let status = refund(&mut client, "refund-ghost", "ch_no_such_charge")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_invalid(
        refund(&mut client, "", "").await,
        &["request_id", "charge_id"],
    );
    assert_invalid(refund(&mut client, "a b", &paid.id).await, &["request_id"]);
    assert_invalid(refund(&mut client, "refund-x", "").await, &["charge_id"]);
}
