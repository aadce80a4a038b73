//! PlaceOrder is keyed by the caller's request id: a retry returns the same order, a reused
//! id with other parameters is refused, and concurrent calls make one order.

use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::ChargeStatus;
use tonic::Code;

use crate::support::*;

pub(crate) async fn a_retry_returns_the_same_order_and_never_charges_twice(backend: Backend) {
    let Some(world) = World::new(backend, "retry").await else {
        return;
    };
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let first = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(first.state, OrderState::Placed as i32);
    // The cart changed since, but a retry is the same checkout.
    world.doubles.cart.fill("user-a", &[("rug", 3)]);
    let again = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 1);
    assert_eq!(world.doubles.inventory.0.lock().reserve_calls, 1);
    // The same id with other parameters.
    let mut other = place_request("r-1", GOOD_CARD, "");
    other.email = "someone-else@example.com".to_owned();
    let status = world.place("user-a", other).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        reason(&status),
        Some(("bazaar.orders".to_owned(), "REQUEST_ID_REUSED".to_owned()))
    );
    // Request ids belong to their caller: another user's "r-1" is another checkout.
    world.doubles.cart.fill("user-b", &[("mug", 1)]);
    let theirs = world
        .place("user-b", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!(theirs.items[0].product_id, "mug");
    let list = world
        .client()
        .list_orders(authed(
            ListOrdersRequest::default(),
            &world.bearer("user-a"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.orders, [first]);
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .len(),
        2
    );
    world.finish().await;
}

pub(crate) async fn concurrent_calls_with_one_request_id_make_one_order(backend: Backend) {
    let Some(world) = World::new(backend, "concurrent").await else {
        return;
    };
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 1), ("mug", 2)]);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let mut client = world.client();
        let request = authed(
            place_request("r-same", GOOD_CARD, ""),
            &world.bearer("user-a"),
        );
        calls.spawn(async move { client.place_order(request).await });
    }
    let mut ids = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            Ok(response) => ids.push(response.into_inner().order.unwrap().id),
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert!(!ids.is_empty(), "at least the first call succeeds");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let order = world.settled("user-a", &ids[0]).await;
    assert_eq!(order.state, OrderState::Placed as i32);
    // A retry after the rush gets the same order.
    let again = world
        .place("user-a", place_request("r-same", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(again.id, order.id);
    let list = world
        .client()
        .list_orders(authed(
            ListOrdersRequest::default(),
            &world.bearer("user-a"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.orders.len(), 1);
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .len(),
        1
    );
    assert_eq!(world.doubles.inventory.sold("mug"), 2);
    world.finish().await;
}
