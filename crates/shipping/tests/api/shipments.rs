//! CreateShipment, CancelShipment and GetShipment: idempotency, one live shipment per
//! order, cancelling twice, and bad input.

use std::collections::HashSet;
use std::time::Duration;

use bazaar_contract::shipping::v1::*;
use chassis::testing::assert_invalid;
use tonic::Code;

use crate::support::*;

fn is_tracking_id(id: &str) -> bool {
    (8..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub(crate) async fn shipments_are_created_and_read(running: &Running) {
    let mut client = running.client.clone();
    let mut request = create_request("ship-1", "order-1");
    request.address.as_mut().unwrap().recipient_name = "  Ada Lovelace ".to_owned();
    request.items = items(&[3, 1, 2]);
    let created = create(&mut client, request.clone()).await.unwrap();
    assert!(!created.id.is_empty() && created.id.len() <= 64);
    assert_eq!(created.order_id, "order-1");
    assert_eq!(created.state(), ShipmentState::Created);
    assert!(
        is_tracking_id(&created.tracking_id),
        "{}",
        created.tracking_id
    );
    // The address as given, trimmed; the items in the order of the request.
    assert_eq!(created.address, Some(address("US")));
    assert_eq!(created.items, items(&[3, 1, 2]));
    let expected = quote(&mut client, request.address.clone(), request.items.clone())
        .await
        .unwrap();
    assert_eq!(created.quote, Some(expected));
    assert_eq!(
        created.quote.as_ref().unwrap().cost,
        Some(usd(10, 930_000_000))
    );
    assert_eq!(created.create_time, Some(running.now()));
    assert_eq!(created.update_time, created.create_time);
    assert_eq!(get(&mut client, &created.id).await.unwrap(), created);

    // International.
    let mut abroad = create_request("ship-2", "order-2");
    abroad.address = Some(address("FR"));
    abroad.items = items(&[12]);
    let shipment = create(&mut client, abroad).await.unwrap();
    let quote = shipment.quote.unwrap();
    assert_eq!(quote.cost, Some(usd(10, 0)));
    assert_eq!(quote.estimated_delivery_days, 7);

    // Tracking ids are unique.
    let mut tracking = HashSet::new();
    for i in 0..20 {
        let id = format!("ship-many-{i}");
        let shipment = create(&mut client, create_request(&id, &id)).await.unwrap();
        assert!(is_tracking_id(&shipment.tracking_id));
        assert!(tracking.insert(shipment.tracking_id));
    }
}

pub(crate) async fn create_is_idempotent(running: &Running) {
    let mut client = running.client.clone();
    let request = create_request("idem-1", "idem-order");
    let first = create(&mut client, request.clone()).await.unwrap();
    running.clock.advance(Duration::from_secs(60));
    assert_eq!(create(&mut client, request.clone()).await.unwrap(), first);
    // White space around address fields is not a different parameter.
    let mut spaced = request.clone();
    spaced.address.as_mut().unwrap().city = " London  ".to_owned();
    assert_eq!(create(&mut client, spaced).await.unwrap(), first);

    // The same id with other parameters is refused.
    type Change = fn(&mut CreateShipmentRequest);
    let changes: [Change; 5] = [
        |r| r.order_id = "idem-other-order".to_owned(),
        |r| r.address.as_mut().unwrap().country_code = "DE".to_owned(),
        |r| {
            r.address.as_mut().unwrap().street_lines.pop();
        },
        |r| r.items = items(&[2]),
        |r| r.items.reverse(),
    ];
    for change in changes {
        let mut other = request.clone();
        change(&mut other);
        let status = create(&mut client, other).await.unwrap_err();
        assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");
    }

    // Another id for the same order: the order already has its shipment.
    let status = create(&mut client, create_request("idem-2", "idem-order"))
        .await
        .unwrap_err();
    let metadata = assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_SHIPPED");
    assert_eq!(metadata["shipment_id"], first.id);

    // Concurrent identical calls create one shipment.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut client = running.client.clone();
        let request = create_request("idem-race", "idem-race-order");
        tasks.push(tokio::spawn(
            async move { create(&mut client, request).await },
        ));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap().expect("concurrent create"));
    }
    assert!(created.iter().all(|s| *s == created[0]));

    // Concurrent calls for one order with different ids: one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut client = running.client.clone();
        let request = create_request(&format!("idem-order-race-{i}"), "idem-order-race");
        tasks.push(tokio::spawn(
            async move { create(&mut client, request).await },
        ));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(shipment) => winners.push(shipment),
            Err(status) => losers.push(status),
        }
    }
    assert_eq!(winners.len(), 1);
    for status in losers {
        let metadata = assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_SHIPPED");
        assert_eq!(metadata["shipment_id"], winners[0].id);
    }
}

pub(crate) async fn cancel_is_idempotent(running: &Running) {
    let mut client = running.client.clone();
    let created = create(&mut client, create_request("cancel-1", "cancel-order"))
        .await
        .unwrap();
    running.clock.advance(Duration::from_secs(90));
    let cancelled = cancel(&mut client, &created.id).await.unwrap();
    assert_eq!(cancelled.state(), ShipmentState::Cancelled);
    assert_eq!(cancelled.create_time, created.create_time);
    assert_eq!(cancelled.update_time, Some(running.now()));
    assert_ne!(cancelled.update_time, created.update_time);
    assert_eq!(cancelled.tracking_id, created.tracking_id);
    assert_eq!(get(&mut client, &created.id).await.unwrap(), cancelled);

    // Again: unchanged, even later.
    running.clock.advance(Duration::from_secs(90));
    assert_eq!(cancel(&mut client, &created.id).await.unwrap(), cancelled);
    assert_eq!(get(&mut client, &created.id).await.unwrap(), cancelled);

    // A retry of the creating call finds it, cancelled.
    let retry = create(&mut client, create_request("cancel-1", "cancel-order"))
        .await
        .unwrap();
    assert_eq!(retry, cancelled);
    // The order may be shipped again, by a new call.
    let again = create(&mut client, create_request("cancel-2", "cancel-order"))
        .await
        .unwrap();
    assert_eq!(again.state(), ShipmentState::Created);
    assert_ne!(again.id, created.id);
    assert_ne!(again.tracking_id, created.tracking_id);
    let status = create(&mut client, create_request("cancel-3", "cancel-order"))
        .await
        .unwrap_err();
    let metadata = assert_reason(&status, Code::AlreadyExists, "ORDER_ALREADY_SHIPPED");
    assert_eq!(metadata["shipment_id"], again.id);

    // Concurrent cancels agree.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut client = running.client.clone();
        let id = again.id.clone();
        tasks.push(tokio::spawn(async move { cancel(&mut client, &id).await }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().expect("concurrent cancel"));
    }
    assert!(results.iter().all(|s| *s == results[0]));
    assert_eq!(results[0].state(), ShipmentState::Cancelled);
}

pub(crate) async fn bad_shipment_input_names_its_field(running: &Running) {
    let mut client = running.client.clone();
    type Change = fn(&mut CreateShipmentRequest);
    let cases: Vec<(Change, &[&str])> = vec![
        (|r| r.request_id = String::new(), &["request_id"]),
        (|r| r.request_id = "with space".to_owned(), &["request_id"]),
        (|r| r.request_id = "r".repeat(65), &["request_id"]),
        (|r| r.order_id = String::new(), &["order_id"]),
        (|r| r.order_id = "o".repeat(65), &["order_id"]),
        (|r| r.address = None, &["address"]),
        (
            |r| r.address.as_mut().unwrap().country_code = "usa".to_owned(),
            &["address.country_code"],
        ),
        (
            |r| r.address.as_mut().unwrap().street_lines.clear(),
            &["address.street_lines"],
        ),
        (|r| r.items.clear(), &["items"]),
        (|r| r.items[1].quantity = 100, &["items[1].quantity"]),
        (
            |r| r.items[0].product_id = "Nope!".to_owned(),
            &["items[0].product_id"],
        ),
        (
            |r| {
                r.request_id = String::new();
                r.order_id = String::new();
                r.address.as_mut().unwrap().city = String::new();
                r.items[0].quantity = 0;
            },
            &[
                "request_id",
                "order_id",
                "address.city",
                "items[0].quantity",
            ],
        ),
    ];
    for (change, fields) in cases {
        let mut request = create_request("bad-1", "bad-order");
        change(&mut request);
        assert_invalid(create(&mut client, request).await, fields);
    }
    // Nothing was created: the id and the order are still free.
    create(&mut client, create_request("bad-1", "bad-order"))
        .await
        .unwrap();

    assert_invalid(cancel(&mut client, "").await, &["shipment_id"]);
    assert_invalid(get(&mut client, "").await, &["shipment_id"]);
    for status in [
        cancel(&mut client, "sh_no_such_shipment")
            .await
            .unwrap_err(),
        get(&mut client, "sh_no_such_shipment").await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    // An id of any length is only looked up; the answer repeats it cut short, so that the
    // status fits the headers a client accepts and the connection stays up for the next
    // call on it.
    let long = "é".repeat(4_097);
    for status in [
        get(&mut client, &long).await.unwrap_err(),
        cancel(&mut client, &long).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    // Text with a NUL character cannot name a shipment; a store that cannot keep it
    // (PostgreSQL) is not "unavailable, retry later": the same call would fail for ever.
    for status in [
        get(&mut client, "sh_\0").await.unwrap_err(),
        cancel(&mut client, "sh_\0").await.unwrap_err(),
    ] {
        assert!(
            matches!(status.code(), Code::NotFound | Code::InvalidArgument),
            "{status:?}"
        );
    }
    create(
        &mut client,
        create_request("after-long-id", "order-after-long-id"),
    )
    .await
    .unwrap();
}
