//! Adding, setting, removing and emptying, bad input, limits and etags.

use bazaar_contract::cart::v1::*;
use chassis::testing::{assert_invalid_argument, violated_fields};
use tonic::Code;

use crate::calls::*;
use crate::support::{Running, authed, error_info};

pub(crate) async fn basic_changes(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("basic-alice");

    let cart = get(&mut client, &alice).await;
    assert!(cart.items.is_empty());
    assert!(cart.update_time.is_none());
    assert!(!cart.etag.is_empty() && cart.etag.len() <= 64);

    let first = add(&mut client, &alice, "r1", "brass-desk-lamp", 2).await;
    assert!(first.update_time.is_some());
    assert_ne!(first.etag, cart.etag);
    add(&mut client, &alice, "r2", "leather-belt", 1).await;
    // Adding to an existing line keeps its place.
    let cart = add(&mut client, &alice, "r3", "brass-desk-lamp", 3).await;
    assert_eq!(
        items(&cart),
        pairs(&[("brass-desk-lamp", 5), ("leather-belt", 1)])
    );
    assert_eq!(items(&get(&mut client, &alice).await), items(&cart));

    // SetItemQuantity: a new product is the last line, an exact quantity, 0 removes.
    let cart = set(&mut client, &alice, "enamel-teapot", 4).await;
    assert_eq!(cart.items.last().unwrap().product_id, "enamel-teapot");
    let cart = set(&mut client, &alice, "brass-desk-lamp", 1).await;
    assert_eq!(cart.items[0].quantity, 1);
    let cart = set(&mut client, &alice, "enamel-teapot", 0).await;
    assert_eq!(
        items(&cart),
        pairs(&[("brass-desk-lamp", 1), ("leather-belt", 1)])
    );
    // Setting an absent product to 0 succeeds and changes nothing.
    let same = set(&mut client, &alice, "enamel-teapot", 0).await;
    assert_eq!(same.etag, cart.etag);

    // RemoveItem, and again: still fine, nothing changes.
    let remove = |p: &str| RemoveItemRequest {
        product_id: p.to_owned(),
    };
    let cart = client
        .remove_item(authed(&alice, remove("leather-belt")))
        .await
        .unwrap()
        .into_inner()
        .cart
        .unwrap();
    assert_eq!(items(&cart), pairs(&[("brass-desk-lamp", 1)]));
    let again = client
        .remove_item(authed(&alice, remove("leather-belt")))
        .await
        .unwrap()
        .into_inner()
        .cart
        .unwrap();
    assert_eq!(again.etag, cart.etag);

    // EmptyCart without an etag, twice.
    let emptied = empty(&mut client, &alice, "").await.unwrap();
    assert!(emptied.items.is_empty());
    assert_ne!(emptied.etag, cart.etag);
    let again = empty(&mut client, &alice, "").await.unwrap();
    assert_eq!(again.etag, emptied.etag);
    assert!(get(&mut client, &alice).await.items.is_empty());
}

pub(crate) async fn bad_input_names_its_field(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("bad-alice");

    let status = try_add(&mut client, &alice, "", "Not A Slug", 0)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["request_id", "product_id", "quantity"]
    );
    for (id, product, quantity, field) in [
        ("ok", "lamp", 0, "quantity"),
        ("ok", "lamp", 100, "quantity"),
        ("ok", "lamp", -1, "quantity"),
        ("ok", "-lamp", 1, "product_id"),
        ("ok", "", 1, "product_id"),
        ("ok", &"a".repeat(64), 1, "product_id"),
        ("no.dots", "lamp", 1, "request_id"),
        (&"x".repeat(65), "lamp", 1, "request_id"),
    ] {
        let status = try_add(&mut client, &alice, id, product, quantity)
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{id} {product} {quantity}"
        );
        assert_eq!(violated_fields(&status), [field]);
    }

    for (product, quantity, fields) in [
        ("lamp", 100, vec!["quantity"]),
        ("lamp", -1, vec!["quantity"]),
        ("Lamp", 1, vec!["product_id"]),
        ("", 200, vec!["product_id", "quantity"]),
    ] {
        let request = SetItemQuantityRequest {
            product_id: product.to_owned(),
            quantity,
        };
        let status = client
            .set_item_quantity(authed(&alice, request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), fields);
    }

    let request = RemoveItemRequest {
        product_id: "bad_id".to_owned(),
    };
    let status = client
        .remove_item(authed(&alice, request))
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["product_id"]);

    // Nothing was written.
    assert!(get(&mut client, &alice).await.items.is_empty());
}

pub(crate) async fn limits_hold(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("limit-alice");

    // 99 units a line.
    add(&mut client, &alice, "a1", "p0", 98).await;
    let cart = add(&mut client, &alice, "a2", "p0", 1).await;
    assert_eq!(cart.items[0].quantity, 99);
    let status = try_add(&mut client, &alice, "a3", "p0", 1)
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "LINE_QUANTITY_LIMIT");
    assert_eq!(error_info(&status).2["max_quantity"], "99");
    assert_eq!(
        get(&mut client, &alice).await,
        cart,
        "the cart is unchanged"
    );

    // 100 lines.
    for i in 1..100 {
        set(&mut client, &alice, &format!("p{i}"), 1).await;
    }
    let full = get(&mut client, &alice).await;
    assert_eq!(full.items.len(), 100);
    let status = try_add(&mut client, &alice, "a4", "one-more", 1)
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "CART_LINE_LIMIT");
    assert_eq!(error_info(&status).2["max_lines"], "100");
    let request = SetItemQuantityRequest {
        product_id: "one-more".to_owned(),
        quantity: 1,
    };
    let status = client
        .set_item_quantity(authed(&alice, request))
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "CART_LINE_LIMIT");
    assert_eq!(get(&mut client, &alice).await, full);
    // Existing lines still change.
    let cart = add(&mut client, &alice, "a5", "p99", 2).await;
    assert_eq!(cart.items[99].quantity, 3);
}

pub(crate) async fn etag_guards_empty_cart(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("etag-alice");
    let read = add(&mut client, &alice, "e1", "lamp", 1).await;
    let changed = add(&mut client, &alice, "e2", "lamp", 1).await;

    let status = empty(&mut client, &alice, &read.etag).await.unwrap_err();
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(get(&mut client, &alice).await, changed);

    let emptied = empty(&mut client, &alice, &changed.etag).await.unwrap();
    assert!(emptied.items.is_empty());
    // The etag of the empty cart is current, so using it again succeeds.
    empty(&mut client, &alice, &emptied.etag).await.unwrap();
}
