//! Who may see and change which cart: guest merges, other users, bad tokens.

use bazaar_contract::cart::v1::*;
use chassis::testing::{TestIssuer, violated_fields};
use tonic::Code;

use crate::calls::*;
use crate::support::{Running, authed};

pub(crate) async fn guest_carts_merge(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("merge-alice");
    let guest_token = running.guest_token("merge-guest");
    let guest = format!("Bearer {guest_token}");

    add(&mut client, &alice, "m1", "lamp", 5).await;
    add(&mut client, &alice, "m2", "mug", 1).await;
    add(&mut client, &guest, "g1", "kettle", 2).await;
    add(&mut client, &guest, "g2", "lamp", 98).await;

    let merged = merge(&mut client, &alice, &guest_token).await.unwrap();
    let cart = merged.cart.unwrap();
    assert_eq!(
        items(&cart),
        pairs(&[("lamp", 99), ("mug", 1), ("kettle", 2)])
    );
    assert_eq!(merged.truncated_product_ids, ["lamp"]);
    assert!(get(&mut client, &guest).await.items.is_empty());

    // Merging again changes nothing.
    let again = merge(&mut client, &alice, &guest_token).await.unwrap();
    assert_eq!(again.cart.unwrap(), cart);
    assert!(again.truncated_product_ids.is_empty());

    // Guest lines beyond 100 lines are dropped, in guest-cart order.
    let full = running.user("merge-full");
    for i in 0..99 {
        set(&mut client, &full, &format!("f{i}"), 1).await;
    }
    let guest2_token = running.guest_token("merge-guest-2");
    let guest2 = format!("Bearer {guest2_token}");
    for product in ["x1", "f0", "x2", "x3"] {
        set(&mut client, &guest2, product, 3).await;
    }
    let merged = merge(&mut client, &full, &guest2_token).await.unwrap();
    assert_eq!(merged.truncated_product_ids, ["x2", "x3"]);
    let cart = merged.cart.unwrap();
    assert_eq!(cart.items.len(), 100);
    assert_eq!(cart.items[0].quantity, 4);
    assert_eq!(cart.items[99].product_id, "x1");

    // A guest cannot merge.
    let status = merge(&mut client, &guest, &running.guest_token("other-guest"))
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "CALLER_IS_GUEST");

    // Only a valid guest token names a guest cart.
    add(&mut client, &guest, "g3", "kettle", 1).await;
    let forged = {
        let other = TestIssuer::new();
        let mut claims = other.claims("merge-guest");
        claims.kind = "guest".to_owned();
        other.token(&claims)
    };
    let expired = {
        let mut claims = running.issuer.claims("merge-guest");
        claims.kind = "guest".to_owned();
        claims.iat -= 7200;
        claims.exp = claims.iat + 900;
        running.issuer.token(&claims)
    };
    let bob_token = running.issuer.token(&running.issuer.claims("merge-bob"));
    let alice_token = running.issuer.token(&running.issuer.claims("merge-alice"));
    for token in ["", "garbage", &forged, &expired, &bob_token, &alice_token] {
        let status = merge(&mut client, &alice, token).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{token}");
        assert_eq!(violated_fields(&status), ["guest_access_token"]);
    }
    assert_eq!(
        items(&get(&mut client, &guest).await),
        pairs(&[("kettle", 1)])
    );
}

pub(crate) async fn callers_see_only_their_own_cart(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("iso-alice");
    let bob = running.user("iso-bob");
    let cart = add(&mut client, &alice, "same-id", "lamp", 3).await;

    assert!(get(&mut client, &bob).await.items.is_empty());
    add(&mut client, &bob, "same-id", "mug", 1).await;
    set(&mut client, &bob, "lamp", 9).await;
    client
        .remove_item(authed(
            &bob,
            RemoveItemRequest {
                product_id: "lamp".to_owned(),
            },
        ))
        .await
        .unwrap();
    empty(&mut client, &bob, "").await.unwrap();
    // Bob cannot use Alice's etag to empty Alice's cart: it is checked against his own.
    let status = empty(&mut client, &bob, &cart.etag).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(get(&mut client, &alice).await, cart);
}

pub(crate) async fn bad_tokens_are_refused_on_every_rpc(running: &Running) {
    let mut client = running.client.clone();
    let forged = TestIssuer::new().bearer("auth-alice");
    let expired = {
        let mut claims = running.issuer.claims("auth-alice");
        claims.iat -= 7200;
        claims.exp = claims.iat + 900;
        format!("Bearer {}", running.issuer.token(&claims))
    };
    let guest_token = running.guest_token("auth-guest");
    for bearer in [
        None,
        Some("Bearer"),
        Some("Bearer x.y.z"),
        Some(&forged),
        Some(&expired),
    ] {
        let add = AddItemRequest {
            request_id: "r".to_owned(),
            product_id: "lamp".to_owned(),
            quantity: 1,
        };
        let set = SetItemQuantityRequest {
            product_id: "lamp".to_owned(),
            quantity: 1,
        };
        let remove = RemoveItemRequest {
            product_id: "lamp".to_owned(),
        };
        let merge = MergeGuestCartRequest {
            guest_access_token: guest_token.clone(),
        };
        let statuses = [
            client
                .get_cart(request(bearer, GetCartRequest {}))
                .await
                .unwrap_err(),
            client.add_item(request(bearer, add)).await.unwrap_err(),
            client
                .set_item_quantity(request(bearer, set))
                .await
                .unwrap_err(),
            client
                .remove_item(request(bearer, remove))
                .await
                .unwrap_err(),
            client
                .empty_cart(request(bearer, EmptyCartRequest::default()))
                .await
                .unwrap_err(),
            client
                .merge_guest_cart(request(bearer, merge))
                .await
                .unwrap_err(),
        ];
        for status in statuses {
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{bearer:?}: {status:?}"
            );
        }
    }
    // None of them reached a cart.
    let alice = running.user("auth-alice");
    assert!(get(&mut client, &alice).await.items.is_empty());
}
