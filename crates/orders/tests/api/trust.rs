//! What payment and shipping say an order already has is checked, not believed: a charge
//! or a shipment that someone else made first for the order's id never makes the order
//! PLACED, and is never refunded or cancelled by orders; the saga's own charge, found
//! again, still is the order's payment.

use std::sync::Arc;

use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::{ChargeRequest, ChargeStatus};
use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::{CreateShipmentRequest, ShipmentItem};
use bazaar_contract::types::v1::Money;
use orders::clock::SystemClock;
use tonic::transport::Channel;

use crate::support::*;

fn answer_fast(config: &mut orders::Config) {
    config.place_order_wait_ms = 200;
}

/// A client straight to the payment double, past its access rule: the certificate of
/// orders, as a caller would hold it on a shop run `--plaintext` (where nobody's identity is
/// checked) or with a leaked certificate. orders must not believe what such a caller made.
fn payment(world: &World) -> PaymentServiceClient<Channel> {
    let addr = world.doubles.addresses[4].parse().unwrap();
    PaymentServiceClient::new(chassis::testing::connect(
        addr,
        &chassis::testing::client_tls(Some("orders")),
    ))
}

/// A client straight to the shipping double, past its access rule, as [`payment`].
fn shipping(world: &World) -> ShippingServiceClient<Channel> {
    let addr = world.doubles.addresses[5].parse().unwrap();
    ShippingServiceClient::new(chassis::testing::connect(
        addr,
        &chassis::testing::client_tls(Some("orders")),
    ))
}

/// An order of two lamps, left PENDING before its reservation (inventory is down).
async fn pending_order(backend: Backend, test: &str) -> Option<(World, Order)> {
    let world = World::new_with(backend, test, answer_fast, Arc::new(SystemClock)).await?;
    world.doubles.inventory.0.lock().down = true;
    world.doubles.cart.fill("user-a", &[("lamp", 2)]);
    let pending = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap();
    assert_eq!(pending.state, OrderState::Pending as i32);
    Some((world, pending))
}

/// Someone else charges `amount` for the order's id, with a card of their own.
async fn charge_first(world: &World, order: &Order, amount: Money) -> String {
    charge_first_as(world, order, amount, "someone-else-1").await
}

/// The same, with `request_id`.
async fn charge_first_as(world: &World, order: &Order, amount: Money, request_id: &str) -> String {
    payment(world)
        .charge(ChargeRequest {
            request_id: request_id.to_owned(),
            order_id: order.id.clone(),
            amount: Some(amount),
            card: Some(card("5555555555554444")),
        })
        .await
        .expect("payment takes the charge")
        .into_inner()
        .charge
        .unwrap()
        .id
}

pub(crate) async fn a_charge_made_first_for_a_cent_does_not_place_the_order(backend: Backend) {
    let Some((world, pending)) = pending_order(backend, "cent_charge").await else {
        return;
    };
    let cent = Money {
        currency_code: "USD".to_owned(),
        units: 0,
        nanos: 10_000_000,
    };
    let foreign = charge_first(&world, &pending, cent).await;
    world.doubles.inventory.0.lock().down = false;

    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    let failure = order.failure.as_ref().unwrap();
    assert_eq!(failure.reason, FailureReason::PaymentUnavailable as i32);
    assert!(
        failure.message.contains("not charged"),
        "{}",
        failure.message
    );
    assert!(order.charge_id.is_empty(), "{order:?}");
    // The foreign charge is not the order's to undo: left as it is, never refunded.
    {
        let payment = world.doubles.payment.0.lock();
        assert_eq!(payment.refund_calls, 0);
        let charge = payment.charges.iter().find(|c| c.id == foreign).unwrap();
        assert_eq!(charge.status, ChargeStatus::Succeeded as i32);
    }
    // Nothing is held for the failed order, and nothing was shipped.
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    assert_eq!(world.doubles.inventory.sold("lamp"), 0);
    assert!(world.doubles.shipping.live_shipments().is_empty());
    world.finish().await;
}

pub(crate) async fn a_charge_in_another_currency_does_not_place_the_order(backend: Backend) {
    let Some((world, pending)) = pending_order(backend, "currency_charge").await else {
        return;
    };
    // The order's total, as a number, in yen: far less money.
    let mut yen = pending.total.clone().unwrap();
    yen.currency_code = "JPY".to_owned();
    yen.nanos = 0;
    charge_first(&world, &pending, yen).await;
    world.doubles.inventory.0.lock().down = false;

    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    assert_eq!(world.doubles.payment.0.lock().refund_calls, 0);
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    world.finish().await;
}

pub(crate) async fn a_charge_made_first_with_the_sagas_request_id_does_not_place_the_order(
    backend: Backend,
) {
    let Some((world, pending)) = pending_order(backend, "stolen_request_id").await else {
        return;
    };
    // The saga's request ids are derived from the order id, so they can be guessed.
    let cent = Money {
        currency_code: "USD".to_owned(),
        units: 0,
        nanos: 10_000_000,
    };
    let foreign = charge_first_as(&world, &pending, cent, &format!("{}-charge", pending.id)).await;
    world.doubles.inventory.0.lock().down = false;

    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    assert!(order.charge_id.is_empty(), "{order:?}");
    {
        let payment = world.doubles.payment.0.lock();
        assert_eq!(payment.refund_calls, 0);
        let charge = payment.charges.iter().find(|c| c.id == foreign).unwrap();
        assert_eq!(charge.status, ChargeStatus::Succeeded as i32);
    }
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    world.finish().await;
}

pub(crate) async fn the_orders_own_charge_found_at_payment_is_kept(backend: Backend) {
    let Some((world, pending)) = pending_order(backend, "own_charge").await else {
        return;
    };
    // Exactly the order's total, as the saga's own Charge (whose answer was lost) is.
    let own = charge_first(&world, &pending, pending.total.clone().unwrap()).await;
    world.doubles.inventory.0.lock().down = false;

    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(order.charge_id, own);
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .len(),
        1,
        "charged once"
    );
    assert_eq!(world.doubles.inventory.sold("lamp"), 2);
    world.finish().await;
}

pub(crate) async fn a_shipment_made_first_elsewhere_does_not_place_the_order(backend: Backend) {
    let Some((world, pending)) = pending_order(backend, "foreign_shipment").await else {
        return;
    };
    let mut elsewhere = address();
    elsewhere.street_lines = vec!["1 Pickup Point".to_owned()];
    let foreign = shipping(&world)
        .create_shipment(CreateShipmentRequest {
            request_id: "someone-else-ship".to_owned(),
            order_id: pending.id.clone(),
            address: Some(elsewhere),
            items: vec![ShipmentItem {
                product_id: "lamp".to_owned(),
                quantity: 2,
            }],
        })
        .await
        .expect("shipping takes the shipment")
        .into_inner()
        .shipment
        .unwrap()
        .id;
    world.doubles.inventory.0.lock().down = false;

    let order = world.settled("user-a", &pending.id).await;
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    assert!(order.shipment_id.is_empty(), "{order:?}");
    // The order's own charge is refunded; the foreign shipment is left alone.
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Refunded)
            .len(),
        1
    );
    assert!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .is_empty()
    );
    let live = world.doubles.shipping.live_shipments();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, foreign);
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    assert_eq!(world.doubles.inventory.sold("lamp"), 0);
    world.finish().await;
}
