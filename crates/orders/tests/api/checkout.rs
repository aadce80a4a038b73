//! Checkouts that finish: placed, declined, out of stock, with technical failures on the
//! way, and the errors that stop a checkout before anything is recorded.

use bazaar_contract::inventory::v1::ReservationState;
use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::ChargeStatus;
use bazaar_doubles::payment::{DECLINE_MESSAGE, DECLINED_CARD};
use chassis::testing::assert_invalid_argument;
use tonic::Code;
use tonic_types::{ErrorDetail, StatusExt};

use crate::events::read_events;
use crate::support::*;

pub(crate) async fn a_checkout_places_the_order_charges_once_and_empties_the_cart(
    backend: Backend,
) {
    let Some(world) = World::new(backend, "happy_path").await else {
        return;
    };
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 2), ("mug", 1)]);
    let order = world
        .place("user-a", place_request("r-1", GOOD_CARD, "EUR"))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(order.user_id, "user-a");
    assert!(order.failure.is_none());
    let lines: Vec<_> = order
        .items
        .iter()
        .map(|i| {
            (
                i.product_id.as_str(),
                i.name.as_str(),
                i.picture_uri.as_str(),
                i.quantity,
                money_text(&i.unit_price),
            )
        })
        .collect();
    // 19.99 USD and 7.50 USD at 0.9213 EUR per USD, each rounded to cents.
    assert_eq!(
        lines,
        [
            (
                "lamp",
                "Brass desk lamp",
                "/pictures/lamp.svg",
                2,
                "EUR 18.42".to_owned()
            ),
            (
                "mug",
                "Stoneware mug",
                "/pictures/mug.svg",
                1,
                "EUR 6.91".to_owned()
            ),
        ]
    );
    assert_eq!(money_text(&order.subtotal), "EUR 43.75");
    // 3 units to the US: 4.99 + 3 × 0.99 = 7.96 USD = 7.33 EUR.
    assert_eq!(money_text(&order.shipping_cost), "EUR 7.33");
    assert_eq!(money_text(&order.total), "EUR 51.08");
    assert_eq!(order.estimated_delivery_days, 3);
    assert_eq!(order.email, "ada@example.com");
    assert_eq!(order.shipping_address, Some(address()));
    assert!(order.create_time.is_some() && order.update_time.is_some());
    assert!(!order.tracking_id.is_empty() && !order.shipment_id.is_empty());

    // Charged once, the total, for this order.
    let charges = world.doubles.payment.with_status(ChargeStatus::Succeeded);
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].id, order.charge_id);
    assert_eq!(charges[0].order_id, order.id);
    assert_eq!(charges[0].amount, order.total);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 1);
    // Stock committed, shipment created.
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Committed]
    );
    assert_eq!(world.doubles.inventory.sold("lamp"), 2);
    assert_eq!(world.doubles.inventory.sold("mug"), 1);
    assert_eq!(world.doubles.inventory.available("lamp"), 8);
    let shipments = world.doubles.shipping.live_shipments();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].id, order.shipment_id);
    assert_eq!(shipments[0].tracking_id, order.tracking_id);
    // The cart was emptied for the shopper, only if unchanged since checkout read it.
    assert!(world.doubles.cart.lines("user-a").is_empty());
    assert_eq!(
        world.doubles.cart.0.lock().emptied,
        [("user-a".to_owned(), "v1".to_owned())]
    );

    // GetOrder shows the same order, and the stream its PLACED event.
    assert_eq!(world.get("user-a", &order.id).await.unwrap(), order);
    let events = read_events(&world, 0, 1).await;
    assert_eq!(events[0].r#type, OrderEventType::Placed as i32);
    assert_eq!(events[0].order_id, order.id);
    assert!(events[0].sequence >= 1 && !events[0].event_id.is_empty());
    assert_eq!(events[0].order.as_ref(), Some(&order));
    world.finish().await;
}

pub(crate) async fn a_declined_card_fails_the_order_and_releases_the_stock(backend: Backend) {
    let Some(world) = World::new(backend, "declined").await else {
        return;
    };
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 2), ("mug", 1)]);
    let order = world
        .place("user-a", place_request("r-1", DECLINED_CARD, ""))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    let failure = order.failure.clone().expect("a failure");
    assert_eq!(failure.reason, FailureReason::PaymentDeclined as i32);
    assert_eq!(failure.message, DECLINE_MESSAGE);
    assert!(failure.product_ids.is_empty());
    assert!(order.charge_id.is_empty() && order.shipment_id.is_empty());
    assert_eq!(money_text(&order.total), "USD 55.44");

    // Nothing charged, nothing shipped, the stock back where it was, the cart untouched.
    assert!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .is_empty()
    );
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Declined)
            .len(),
        1
    );
    assert!(world.doubles.shipping.live_shipments().is_empty());
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Released]
    );
    assert_eq!(world.doubles.inventory.available("lamp"), 10);
    assert_eq!(world.doubles.cart.lines("user-a").len(), 2);
    assert!(world.doubles.cart.0.lock().emptied.is_empty());

    let events = read_events(&world, 0, 1).await;
    assert_eq!(events[0].r#type, OrderEventType::Failed as i32);
    assert_eq!(events[0].order.as_ref(), Some(&order));
    world.finish().await;
}

pub(crate) async fn missing_stock_fails_the_order_before_any_charge(backend: Backend) {
    let Some(world) = World::new(backend, "out_of_stock").await else {
        return;
    };
    world.doubles.inventory.stock("lamp", 1);
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 2), ("mug", 1)]);
    let order = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Failed as i32, "{order:?}");
    let failure = order.failure.clone().expect("a failure");
    assert_eq!(failure.reason, FailureReason::OutOfStock as i32);
    assert_eq!(failure.product_ids, ["lamp"]);
    assert!(
        failure.message.contains("Brass desk lamp"),
        "{}",
        failure.message
    );
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 0);
    assert!(world.doubles.inventory.states().is_empty());
    assert_eq!(world.doubles.inventory.available("lamp"), 1);
    assert_eq!(world.doubles.cart.lines("user-a").len(), 2);
    let events = read_events(&world, 0, 1).await;
    assert_eq!(events[0].r#type, OrderEventType::Failed as i32);
    world.finish().await;
}

pub(crate) async fn shipping_failing_after_the_charge_is_retried_until_placed(backend: Backend) {
    let Some(world) = World::new(backend, "shipping_retried").await else {
        return;
    };
    world.doubles.shipping.0.lock().fail_next = 3;
    world.doubles.cart.fill("user-a", &[("rug", 1)]);
    let order = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .expect("PlaceOrder");
    let order = world.settled("user-a", &order.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(world.doubles.shipping.0.lock().create_calls, 4);
    assert_eq!(world.doubles.shipping.live_shipments().len(), 1);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 1);
    assert_eq!(
        world
            .doubles
            .payment
            .with_status(ChargeStatus::Succeeded)
            .len(),
        1
    );
    assert_eq!(world.doubles.inventory.sold("rug"), 1);
    world.finish().await;
}

pub(crate) async fn an_expired_reservation_is_made_again_before_commit(backend: Backend) {
    let Some(world) = World::new(backend, "reservation_expired").await else {
        return;
    };
    world.doubles.inventory.0.lock().expire_on_next_commit = true;
    world.doubles.cart.fill("user-a", &[("lamp", 2)]);
    let order = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .expect("PlaceOrder");
    let order = world.settled("user-a", &order.id).await;
    assert_eq!(order.state, OrderState::Placed as i32, "{order:?}");
    assert_eq!(
        world.doubles.inventory.states(),
        [ReservationState::Committed, ReservationState::Expired]
    );
    assert_eq!(world.doubles.inventory.0.lock().reserve_calls, 2);
    assert_eq!(world.doubles.inventory.sold("lamp"), 2);
    assert_eq!(world.doubles.inventory.available("lamp"), 8);
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

pub(crate) async fn without_currency_the_order_is_priced_in_usd(backend: Backend) {
    let Some(world) = World::new(backend, "currency_fallback").await else {
        return;
    };
    // Whole yen, rounded half to even per unit.
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 2), ("mug", 1)]);
    let order = world
        .place("user-a", place_request("r-jpy", GOOD_CARD, "JPY"))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Placed as i32);
    // 19.99 × 156.42 = 3126.8358; 7.50 × 156.42 = 1173.15; 7.96 × 156.42 = 1245.1032.
    assert_eq!(money_text(&order.items[0].unit_price), "JPY 3127");
    assert_eq!(money_text(&order.items[1].unit_price), "JPY 1173");
    assert_eq!(money_text(&order.subtotal), "JPY 7427");
    assert_eq!(money_text(&order.shipping_cost), "JPY 1245");
    assert_eq!(money_text(&order.total), "JPY 8672");

    world.doubles.currency.0.lock().down = true;
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 2), ("mug", 1)]);
    let order = world
        .place("user-a", place_request("r-eur", GOOD_CARD, "EUR"))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Placed as i32);
    assert_eq!(money_text(&order.items[0].unit_price), "USD 19.99");
    assert_eq!(money_text(&order.subtotal), "USD 47.48");
    assert_eq!(money_text(&order.shipping_cost), "USD 7.96");
    assert_eq!(money_text(&order.total), "USD 55.44");
    let charge = world
        .doubles
        .payment
        .with_status(ChargeStatus::Succeeded)
        .into_iter()
        .find(|c| c.order_id == order.id)
        .expect("charged");
    assert_eq!(charge.amount, order.total);
    world.finish().await;
}

pub(crate) async fn problems_before_the_order_is_recorded_leave_nothing_behind(backend: Backend) {
    let Some(world) = World::new(backend, "before_recording").await else {
        return;
    };
    // An empty cart.
    let status = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        reason(&status),
        Some(("bazaar.orders".to_owned(), "CART_EMPTY".to_owned()))
    );
    // A product the catalog no longer has.
    world
        .doubles
        .cart
        .fill("user-a", &[("lamp", 1), ("ghost", 1), ("phantom", 2)]);
    let status = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        reason(&status),
        Some(("bazaar.orders".to_owned(), "PRODUCT_NOT_FOUND".to_owned()))
    );
    let mut missing: Vec<String> = status
        .get_error_details_vec()
        .into_iter()
        .filter_map(|d| match d {
            ErrorDetail::ResourceInfo(info) => Some(info.resource_name),
            _ => None,
        })
        .collect();
    missing.sort();
    assert_eq!(missing, ["ghost", "phantom"]);
    // A currency the shop does not support.
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let status = world
        .place("user-a", place_request("r-1", GOOD_CARD, "XYZ"))
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["currency_code"]);
    // Cart, catalog or shipping down.
    for service in ["cart", "catalog", "shipping"] {
        let set = |down: bool| match service {
            "cart" => world.doubles.cart.0.lock().down = down,
            "catalog" => world.doubles.catalog.0.lock().down = down,
            _ => world.doubles.shipping.0.lock().quotes_down = down,
        };
        set(true);
        let status = world
            .place("user-a", place_request("r-1", GOOD_CARD, ""))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unavailable,
            "{service} down: {status:?}"
        );
        set(false);
    }
    // Nothing was recorded, reserved or charged...
    let list = world
        .client()
        .list_orders(authed(
            ListOrdersRequest::default(),
            &world.bearer("user-a"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(list.orders.is_empty());
    assert_eq!(world.doubles.inventory.0.lock().reserve_calls, 0);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 0);
    // ...so the same request id works once the problem is gone.
    let order = world
        .place("user-a", place_request("r-1", GOOD_CARD, ""))
        .await
        .expect("PlaceOrder");
    assert_eq!(order.state, OrderState::Placed as i32);
    world.finish().await;
}
