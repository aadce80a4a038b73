//! Sagas survive their process: orders stopped mid-checkout finishes (or safely fails) the
//! checkout when it comes back on the same store, and a charge that keeps failing is given
//! up without leaving anything charged.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::inventory::v1::ReservationState;
use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::ChargeStatus;
use bazaar_doubles::checkout::Doubles;
use orders::clock::{Clock, ManualClock, SystemClock};

use crate::events::read_events;
use crate::support::*;

fn answer_fast(config: &mut orders::Config) {
    config.place_order_wait_ms = 200;
}

pub(crate) async fn a_restart_after_the_charge_finishes_the_saga(backend: Backend) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Some(mut world) =
        World::new_with(backend, "restart_after_charge", answer_fast, clock.clone()).await
    else {
        return;
    };
    world.doubles.shipping.0.lock().down = true;
    world.doubles.cart.fill("user-a", &[("lamp", 2)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(pending.state, OrderState::Pending as i32);
    let payment = world.doubles.payment.clone();
    let shipping = world.doubles.shipping.clone();
    eventually("charged, then shipping tried", || {
        payment.with_status(ChargeStatus::Succeeded).len() == 1
            && shipping.0.lock().create_calls >= 2
    })
    .await;
    world.stop().await;

    world.doubles.shipping.0.lock().down = false;
    world.start(answer_fast, clock).await;
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(
        world.doubles.payment.0.lock().charge_calls,
        1,
        "charged once"
    );
    let charges = world.doubles.payment.with_status(ChargeStatus::Succeeded);
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].id, order.charge_id);
    assert_eq!(world.doubles.shipping.live_shipments().len(), 1);
    assert_eq!(world.doubles.inventory.sold("lamp"), 2);
    let events = read_events(&world, 0, 1).await;
    assert_eq!(events[0].order_id, order.id);
    assert_eq!(events[0].r#type, OrderEventType::Placed as i32);
    world.finish().await;
}

/// A saga stopped for a shutdown in the middle of a step stores what it got to first: the
/// charge it made (which it wrote with nothing else yet) is known to the restarted process,
/// which does not need to look for it at payment.
pub(crate) async fn a_saga_paused_for_a_shutdown_keeps_its_charge(backend: Backend) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Some(mut world) =
        World::new_with(backend, "paused_after_charge", answer_fast, clock.clone()).await
    else {
        return;
    };
    world.doubles.shipping.0.lock().create_delay = Duration::from_secs(2);
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    let shipping = world.doubles.shipping.clone();
    eventually("charged, then the shipment asked for", || {
        shipping.0.lock().create_calls >= 1
    })
    .await;
    world.stop().await;

    world.doubles.shipping.0.lock().create_delay = Duration::ZERO;
    world.start(answer_fast, clock).await;
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    let (charge_calls, list_calls) = {
        let payment = world.doubles.payment.0.lock();
        (payment.charge_calls, payment.list_calls)
    };
    assert_eq!(charge_calls, 1, "charged once");
    assert_eq!(
        list_calls, 0,
        "the restarted saga knew its charge without asking payment"
    );
    world.finish().await;
}

pub(crate) async fn a_restart_before_the_charge_fails_the_order_without_charging(backend: Backend) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Some(mut world) =
        World::new_with(backend, "restart_before_charge", answer_fast, clock.clone()).await
    else {
        return;
    };
    world.doubles.payment.0.lock().charge_unavailable = true;
    world.doubles.cart.fill("user-a", &[("lamp", 2)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(pending.state, OrderState::Pending as i32);
    let payment = world.doubles.payment.clone();
    eventually("a charge tried", || payment.0.lock().charge_calls >= 1).await;
    world.stop().await;

    // The card was only in the stopped process's memory: the order fails, nothing charged.
    world.doubles.payment.0.lock().charge_unavailable = false;
    world.start(answer_fast, clock).await;
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    let failure = order.failure.expect("a failure");
    assert_eq!(failure.reason, FailureReason::PaymentUnavailable as i32);
    assert!(
        failure.message.contains("nothing was charged"),
        "{}",
        failure.message
    );
    assert!(world.doubles.payment.0.lock().charges.is_empty());
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Released]
    );
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    world.finish().await;
}

pub(crate) async fn a_charge_failing_for_too_long_fails_the_order(backend: Backend) {
    let clock = ManualClock::new();
    let Some(world) = World::new_with(
        backend,
        "charge_gives_up",
        answer_fast,
        Arc::new(clock.clone()),
    )
    .await
    else {
        return;
    };
    world.doubles.payment.0.lock().charge_unavailable = true;
    world.doubles.cart.fill("user-a", &[("mug", 1)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(pending.state, OrderState::Pending as i32);
    let payment = world.doubles.payment.clone();
    eventually("the charge retried", || payment.0.lock().charge_calls >= 2).await;
    // Still pending before the give-up time...
    assert_eq!(
        world.get("user-a", &pending.id).await.unwrap().state,
        OrderState::Pending as i32
    );
    // ...failed after it (the default is 300 s).
    clock.advance(Duration::from_secs(301));
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    assert_eq!(
        order.failure.unwrap().reason,
        FailureReason::PaymentUnavailable as i32
    );
    assert!(world.doubles.payment.0.lock().charges.is_empty());
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Released]
    );
    assert_eq!(world.doubles.inventory.available("mug"), 10);
    world.finish().await;
}

pub(crate) async fn another_replica_takes_over_a_saga_whose_lease_ran_out(backend: Backend) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Some(world) = World::new_with(backend, "takeover", answer_fast, clock).await else {
        return;
    };
    // The first replica keeps trying to charge (it has the card), renewing its lease.
    world.doubles.payment.0.lock().charge_unavailable = true;
    world.doubles.cart.fill("user-a", &[("rug", 1)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    let payment = world.doubles.payment.clone();
    eventually("the charge retried", || payment.0.lock().charge_calls >= 2).await;
    // A replica whose clock says that lease ran out long ago, as after a crash, takes the
    // saga over; without the card it fails the order, having checked that nothing was
    // charged. (Left to the first replica, the order would stay PENDING.)
    let later = ManualClock::new();
    later.advance(Duration::from_secs(3600));
    let second = world.replica(answer_fast, Arc::new(later)).await;
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    let failure = order.failure.clone().expect("a failure");
    assert!(
        failure.message.contains("nothing was charged"),
        "{}",
        failure.message
    );
    assert!(world.doubles.payment.0.lock().charges.is_empty());
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Released]
    );
    let events = read_events(&world, 0, 1).await;
    assert_eq!(events[0].order_id, order.id);
    assert_eq!(events[0].r#type, OrderEventType::Failed as i32);
    second.stop().await;
    world.finish().await;
}

/// A step slower than the saga's lease (shipping answering after three leases) stays with
/// the replica running it: the lease is renewed while the step runs, so another replica
/// looking for abandoned sagas meanwhile does not take it over and run it a second time.
pub(crate) async fn a_step_slower_than_the_lease_runs_in_one_replica_only(backend: Backend) {
    placed_by_one_replica(backend, "slow step", |doubles| {
        doubles.shipping.0.lock().create_delay = Duration::from_millis(3_000);
    })
    .await;
}

/// Steps each shorter than a third of the lease, which the saga makes without a write in
/// between, together outlast it: the lease is renewed while they run, counted from the last
/// write, so no other replica takes the saga over and makes them again.
pub(crate) async fn steps_that_together_outlast_the_lease_run_in_one_replica_only(
    backend: Backend,
) {
    placed_by_one_replica(backend, "steps outlast", |doubles| {
        // The charge, the shipment, the commit and the cart: 4 × 300 ms after the
        // reservation's write, each below the 333 ms at which a step renews the lease on
        // its own.
        let step = Duration::from_millis(300);
        doubles.payment.0.lock().charge_delay = step;
        doubles.shipping.0.lock().create_delay = step;
        doubles.inventory.0.lock().commit_delay = step;
        doubles.cart.0.lock().empty_delay = step;
    })
    .await;
}

/// Places one order on a replica with a 1 s lease beside another replica looking for
/// abandoned sagas, with the callees slowed by `slow`, and checks that the order was
/// placed with one charge and one shipment: the saga never changed hands.
async fn placed_by_one_replica(backend: Backend, name: &str, slow: impl FnOnce(&Doubles)) {
    let short_lease = |config: &mut orders::Config| {
        config.saga_lease_ms = 1_000;
        config.place_order_wait_ms = 200;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Some(world) = World::new_with(backend, name, short_lease, clock.clone()).await else {
        return;
    };
    let other = world.replica(short_lease, clock).await;
    slow(&world.doubles);
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(
        world.doubles.shipping.0.lock().create_calls,
        1,
        "the shipment was asked for by one replica, once"
    );
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 1);
    other.stop().await;
    world.finish().await;
}
