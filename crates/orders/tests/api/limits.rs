//! What one caller may hold: a few PENDING orders at a time, and no order that payment
//! would refuse for its size; both refused before anything is reserved.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::ChargeStatus;
use bazaar_doubles::money;
use orders::clock::SystemClock;
use tonic::Code;

use crate::support::*;

fn two_pending_at_most(config: &mut orders::Config) {
    config.place_order_wait_ms = 200;
    config.max_pending_per_caller = 2;
}

pub(crate) async fn a_caller_with_too_many_pending_orders_is_refused(backend: Backend) {
    let Some(world) = World::new_with(
        backend,
        "pending_cap",
        two_pending_at_most,
        Arc::new(SystemClock),
    )
    .await
    else {
        return;
    };
    // Every charge fails for a technical reason: the orders stay PENDING.
    world.doubles.payment.0.lock().charge_unavailable = true;
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let mut pending = Vec::new();
    for request_id in ["r-1", "r-2"] {
        let order = world
            .place("user-a", place_request(request_id, GOOD_CARD, ""))
            .await
            .unwrap();
        assert_eq!(order.state, OrderState::Pending as i32);
        pending.push(order);
    }
    let reservations = world.doubles.inventory.states().len();
    let reserve_calls = world.doubles.inventory.0.lock().reserve_calls;

    let status = world
        .place("user-a", place_request("r-3", GOOD_CARD, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        reason(&status),
        Some((
            "bazaar.orders".to_owned(),
            "TOO_MANY_PENDING_ORDERS".to_owned()
        ))
    );
    assert_eq!(world.doubles.inventory.states().len(), reservations);
    assert_eq!(
        world.doubles.inventory.0.lock().reserve_calls,
        reserve_calls,
        "nothing reserved for the refused order"
    );
    // Another caller is not held back by this one.
    world.doubles.cart.fill("user-b", &[("mug", 1)]);
    let other = world
        .place("user-b", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(other.state, OrderState::Pending as i32);

    // Once the orders settle, the caller may order again, with the same request id.
    world.doubles.payment.0.lock().charge_unavailable = false;
    for order in &pending {
        let settled = world.settled("user-a", &order.id).await;
        assert_eq!(settled.state, OrderState::Placed as i32);
    }
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let third = world
        .place("user-a", place_request("r-3", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(third.state, OrderState::Placed as i32, "{third:?}");
    world.finish().await;
}

pub(crate) async fn an_order_larger_than_a_charge_may_be_is_refused_before_reserving(
    backend: Backend,
) {
    let Some(world) = World::new(backend, "too_large").await else {
        return;
    };
    // 99 rugs at 20,000 USD: 1,980,000 USD, more than one charge may take.
    if let Some(rug) = world.doubles.catalog.0.lock().products.get_mut("rug") {
        rug.price = Some(money("USD", "20000.00"));
    }
    world.doubles.inventory.stock("rug", 1_000);
    world.doubles.cart.fill("user-a", &[("rug", 99)]);
    let status = world
        .place("user-a", place_request("r-1", GOOD_CARD, "EUR"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        reason(&status),
        Some(("bazaar.orders".to_owned(), "ORDER_TOO_LARGE".to_owned()))
    );
    assert_eq!(world.doubles.inventory.0.lock().reserve_calls, 0);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 0);

    // Within the cap (49 rugs: 980,000 USD and shipping), the order goes through.
    world.doubles.cart.fill("user-a", &[("rug", 49)]);
    let order = world
        .place("user-a", place_request("r-2", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .len(),
        1
    );
    world.finish().await;
}

/// The reservation of a checkout lasts as long as its charge may be retried, and a
/// little more; not a fixed hour.
pub(crate) async fn reservations_last_as_long_as_the_charge_may_take(backend: Backend) {
    let Some(world) = World::new_with(
        backend,
        "reservation_ttl",
        |config| {
            config.charge_give_up_secs = 120;
            config.reservation_margin_secs = 30;
        },
        Arc::new(SystemClock),
    )
    .await
    else {
        return;
    };
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    let requests = world.doubles.inventory.0.lock().requests.clone();
    let ttl = requests
        .values()
        .map(|(request, _)| request.ttl.unwrap())
        .next()
        .expect("a reservation was asked for");
    assert_eq!(
        Duration::from_secs(ttl.seconds as u64),
        Duration::from_secs(150)
    );
    world.finish().await;
}
