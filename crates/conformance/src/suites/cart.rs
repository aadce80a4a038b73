//! Cart: the caller's own cart, named by the access token only; line and quantity limits;
//! `request_id` idempotency of AddItem; the etag guard of EmptyCart; and the guest-cart
//! merge. Every check needs identity for tokens.

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::cart::v1::*;
use tonic::Code;
use tonic::transport::Channel;

use crate::check::{Checked, invalid, ok, reason, refused, violation};
use crate::shopper::{Caller, guest, registered};
use crate::target::{Target, authorized, garbage_token, tampered, unique};
use crate::{Runner, ensure};

type Client = CartServiceClient<Channel>;

/// Runs every cart check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CartServiceClient::new(target.own());
    r.check(
        "every RPC without a token, or with a malformed or forged one, is UNAUTHENTICATED",
        unauthenticated(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a new caller's cart is empty, with no update_time",
        empty_at_first(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem adds to the product's line or appends a line; lines stay in first-added order",
        add(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem retried with the same request_id returns the first result and adds nothing",
        add_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: a request_id reused with other parameters is ALREADY_EXISTS REQUEST_ID_REUSED",
        add_reused(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: request ids are scoped to the caller",
        add_scoped(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: malformed request_id or product_id, quantity outside 1..=99 are INVALID_ARGUMENT",
        add_invalid(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem past 99 units is FAILED_PRECONDITION LINE_QUANTITY_LIMIT, cart unchanged",
        line_limit(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a 101st line is FAILED_PRECONDITION CART_LINE_LIMIT (AddItem and SetItemQuantity)",
        cart_limit(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "SetItemQuantity sets, appends, and removes with 0; out of range is INVALID_ARGUMENT",
        set_quantity(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "RemoveItem removes a line and succeeds for a product not in the cart",
        remove(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "EmptyCart with a stale etag is ABORTED ETAG_MISMATCH; with the current one it empties",
        empty(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "one caller's changes never show in another caller's cart",
        isolated(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "MergeGuestCart adds guest lines, caps at 99, empties the guest cart, and is safe to retry",
        merge(c.clone(), target.clone()),
    )
    .await;
    r.check("MergeGuestCart: a guest caller is FAILED_PRECONDITION CALLER_IS_GUEST; bad guest tokens INVALID_ARGUMENT", merge_refused(c.clone(), target.clone())).await;
}

fn lines(cart: &Option<Cart>) -> Vec<(String, i32)> {
    cart.as_ref()
        .map(|c| {
            c.items
                .iter()
                .map(|i| (i.product_id.clone(), i.quantity))
                .collect()
        })
        .unwrap_or_default()
}

fn line(product: &str, quantity: i32) -> (String, i32) {
    (product.to_owned(), quantity)
}

async fn get(c: &mut Client, who: &Caller) -> Checked<Option<Cart>> {
    Ok(ok(
        c.get_cart(authorized(who.token(), GetCartRequest {})).await,
        "GetCart",
    )?
    .cart)
}

fn add_request(request_id: &str, product: &str, quantity: i32) -> AddItemRequest {
    AddItemRequest {
        request_id: request_id.to_owned(),
        product_id: product.to_owned(),
        quantity,
    }
}

async fn add_as(
    c: &mut Client,
    who: &Caller,
    product: &str,
    quantity: i32,
) -> Checked<Option<Cart>> {
    Ok(ok(
        c.add_item(authorized(
            who.token(),
            add_request(&unique("add"), product, quantity),
        ))
        .await,
        "AddItem",
    )?
    .cart)
}

async fn set_as(
    c: &mut Client,
    who: &Caller,
    product: &str,
    quantity: i32,
) -> Checked<Option<Cart>> {
    Ok(ok(
        c.set_item_quantity(authorized(
            who.token(),
            SetItemQuantityRequest {
                product_id: product.to_owned(),
                quantity,
            },
        ))
        .await,
        "SetItemQuantity",
    )?
    .cart)
}

async fn unauthenticated(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let forged = tampered(who.token());
    refused(
        c.get_cart(GetCartRequest {}).await,
        Code::Unauthenticated,
        "GetCart(no token)",
    )?;
    refused(
        c.get_cart(garbage_token(GetCartRequest {})).await,
        Code::Unauthenticated,
        "GetCart(malformed token)",
    )?;
    refused(
        c.get_cart(authorized(&forged, GetCartRequest {})).await,
        Code::Unauthenticated,
        "GetCart(forged token)",
    )?;
    refused(
        c.add_item(add_request(&unique("r"), "p", 1)).await,
        Code::Unauthenticated,
        "AddItem(no token)",
    )?;
    refused(
        c.add_item(authorized(&forged, add_request(&unique("r"), "p", 1)))
            .await,
        Code::Unauthenticated,
        "AddItem(forged token)",
    )?;
    refused(
        c.set_item_quantity(SetItemQuantityRequest {
            product_id: "p".into(),
            quantity: 1,
        })
        .await,
        Code::Unauthenticated,
        "SetItemQuantity(no token)",
    )?;
    refused(
        c.remove_item(RemoveItemRequest {
            product_id: "p".into(),
        })
        .await,
        Code::Unauthenticated,
        "RemoveItem(no token)",
    )?;
    refused(
        c.empty_cart(EmptyCartRequest::default()).await,
        Code::Unauthenticated,
        "EmptyCart(no token)",
    )?;
    refused(
        c.merge_guest_cart(MergeGuestCartRequest {
            guest_access_token: who.token().to_owned(),
        })
        .await,
        Code::Unauthenticated,
        "MergeGuestCart(no token)",
    )?;
    Ok(())
}

async fn empty_at_first(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let cart = get(&mut c, &who).await?;
    ensure!(
        lines(&cart).is_empty(),
        "a new guest's cart holds {:?}",
        lines(&cart)
    );
    ensure!(
        cart.as_ref().is_none_or(|c| c.update_time.is_none()),
        "a cart that never had anything has update_time {:?}",
        cart.and_then(|c| c.update_time)
    );
    let (user, _) = registered(&target).await?;
    ensure!(
        lines(&get(&mut c, &user).await?).is_empty(),
        "a new user's cart is not empty"
    );
    Ok(())
}

async fn add(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let first = add_as(&mut c, &who, "lamp", 2).await?;
    ensure!(
        lines(&first) == vec![line("lamp", 2)],
        "after AddItem(lamp, 2) the cart holds {:?}",
        lines(&first)
    );
    ensure!(
        first
            .as_ref()
            .is_some_and(|c| c.update_time.is_some() && !c.etag.is_empty() && c.etag.len() <= 64),
        "the cart has no update_time or a bad etag: {first:?}"
    );
    add_as(&mut c, &who, "mug", 1).await?;
    let cart = add_as(&mut c, &who, "lamp", 3).await?;
    ensure!(
        lines(&cart) == vec![line("lamp", 5), line("mug", 1)],
        "after adding lamp 2, mug 1, lamp 3 the cart holds {:?}",
        lines(&cart)
    );
    let read = get(&mut c, &who).await?;
    ensure!(
        read == cart,
        "GetCart {read:?} differs from the last AddItem's cart {cart:?}"
    );
    Ok(())
}

async fn add_idempotent(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let id = unique("req");
    let first = ok(
        c.add_item(authorized(who.token(), add_request(&id, "lamp", 2)))
            .await,
        "AddItem",
    )?
    .cart;
    add_as(&mut c, &who, "mug", 1).await?;
    let retry = ok(
        c.add_item(authorized(who.token(), add_request(&id, "lamp", 2)))
            .await,
        "AddItem(retry)",
    )?
    .cart;
    ensure!(
        lines(&retry) == lines(&first),
        "the retry returned {:?}, the first call {:?}",
        lines(&retry),
        lines(&first)
    );
    let now = get(&mut c, &who).await?;
    ensure!(
        lines(&now) == vec![line("lamp", 2), line("mug", 1)],
        "after a retry the cart holds {:?}: added twice?",
        lines(&now)
    );
    Ok(())
}

async fn add_reused(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let id = unique("req");
    ok(
        c.add_item(authorized(who.token(), add_request(&id, "lamp", 2)))
            .await,
        "AddItem",
    )?;
    for (product, quantity) in [("lamp", 3), ("mug", 2)] {
        let status = refused(
            c.add_item(authorized(who.token(), add_request(&id, product, quantity)))
                .await,
            Code::AlreadyExists,
            &format!("AddItem(same request_id, {product} {quantity})"),
        )?;
        reason(&status, "REQUEST_ID_REUSED", "AddItem(reused request_id)")?;
    }
    ensure!(
        lines(&get(&mut c, &who).await?) == vec![line("lamp", 2)],
        "a refused reuse changed the cart"
    );
    Ok(())
}

async fn add_scoped(mut c: Client, target: Target) -> Checked {
    let (a, b) = (guest(&target).await?, guest(&target).await?);
    let id = unique("req");
    ok(
        c.add_item(authorized(a.token(), add_request(&id, "lamp", 2)))
            .await,
        "AddItem(caller A)",
    )?;
    let cart = ok(
        c.add_item(authorized(b.token(), add_request(&id, "mug", 4)))
            .await,
        "AddItem(caller B, the same request_id)",
    )?
    .cart;
    ensure!(
        lines(&cart) == vec![line("mug", 4)],
        "caller B's AddItem with A's request_id gave {:?}",
        lines(&cart)
    );
    Ok(())
}

async fn add_invalid(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let call = |request: AddItemRequest| {
        let mut c = c.clone();
        let token = who.token().to_owned();
        async move { c.add_item(authorized(&token, request)).await }
    };
    for q in [0, 100, -1] {
        invalid(
            call(add_request(&unique("r"), "lamp", q)).await,
            "quantity",
            &format!("AddItem(quantity {q})"),
        )?;
    }
    for p in ["", "Lamp", "-lamp", "lamp lamp", &"a".repeat(64)] {
        invalid(
            call(add_request(&unique("r"), p, 1)).await,
            "product_id",
            &format!("AddItem(product_id {p:?})"),
        )?;
    }
    for id in ["", "has space", "semi;colon", &"r".repeat(65)] {
        invalid(
            call(add_request(id, "lamp", 1)).await,
            "request_id",
            &format!("AddItem(request_id {id:?})"),
        )?;
    }
    ok(
        call(add_request(&"R_-9".repeat(16), "lamp", 99)).await,
        "AddItem(request_id of 64 characters, quantity 99)",
    )?;
    ensure!(
        lines(&get(&mut c, &who).await?) == vec![line("lamp", 99)],
        "refused calls changed the cart"
    );
    Ok(())
}

async fn line_limit(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    add_as(&mut c, &who, "lamp", 60).await?;
    let status = refused(
        c.add_item(authorized(
            who.token(),
            add_request(&unique("r"), "lamp", 40),
        ))
        .await,
        Code::FailedPrecondition,
        "AddItem(60 + 40 units)",
    )?;
    let info = reason(&status, "LINE_QUANTITY_LIMIT", "AddItem(60 + 40 units)")?;
    ensure!(
        info.metadata.get("max_quantity").map(String::as_str) == Some("99"),
        "LINE_QUANTITY_LIMIT metadata is {:?}, expected max_quantity = 99",
        info.metadata
    );
    ensure!(
        lines(&get(&mut c, &who).await?) == vec![line("lamp", 60)],
        "a refused AddItem changed the cart"
    );
    let cart = add_as(&mut c, &who, "lamp", 39).await?;
    ensure!(
        lines(&cart) == vec![line("lamp", 99)],
        "60 + 39 units gave {:?}",
        lines(&cart)
    );
    Ok(())
}

async fn cart_limit(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    for i in 0..100 {
        set_as(&mut c, &who, &format!("p{i}"), 1).await?;
    }
    let cart = get(&mut c, &who).await?;
    let ids: Vec<String> = lines(&cart).into_iter().map(|(p, _)| p).collect();
    let expected: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
    ensure!(
        ids == expected,
        "100 lines set in order read back as {} lines, in another order",
        ids.len()
    );
    let status = refused(
        c.add_item(authorized(
            who.token(),
            add_request(&unique("r"), "p100", 1),
        ))
        .await,
        Code::FailedPrecondition,
        "AddItem(a 101st line)",
    )?;
    let info = reason(&status, "CART_LINE_LIMIT", "AddItem(a 101st line)")?;
    ensure!(
        info.metadata.get("max_lines").map(String::as_str) == Some("100"),
        "CART_LINE_LIMIT metadata is {:?}, expected max_lines = 100",
        info.metadata
    );
    let status = refused(
        c.set_item_quantity(authorized(
            who.token(),
            SetItemQuantityRequest {
                product_id: "p100".into(),
                quantity: 1,
            },
        ))
        .await,
        Code::FailedPrecondition,
        "SetItemQuantity(a 101st line)",
    )?;
    reason(&status, "CART_LINE_LIMIT", "SetItemQuantity(a 101st line)")?;
    let cart = add_as(&mut c, &who, "p5", 2).await?;
    ensure!(
        lines(&cart).len() == 100 && lines(&cart)[5] == line("p5", 3),
        "adding to an existing line of a full cart failed or moved it"
    );
    Ok(())
}

async fn set_quantity(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    add_as(&mut c, &who, "lamp", 5).await?;
    let cart = set_as(&mut c, &who, "mug", 7).await?;
    ensure!(
        lines(&cart) == vec![line("lamp", 5), line("mug", 7)],
        "SetItemQuantity(mug, 7) gave {:?}",
        lines(&cart)
    );
    let cart = set_as(&mut c, &who, "lamp", 99).await?;
    ensure!(
        lines(&cart) == vec![line("lamp", 99), line("mug", 7)],
        "SetItemQuantity(lamp, 99) gave {:?}",
        lines(&cart)
    );
    let again = set_as(&mut c, &who, "lamp", 99).await?;
    ensure!(
        lines(&again) == lines(&cart),
        "SetItemQuantity repeated changed the cart: {:?}",
        lines(&again)
    );
    let cart = set_as(&mut c, &who, "lamp", 0).await?;
    ensure!(
        lines(&cart) == vec![line("mug", 7)],
        "SetItemQuantity(lamp, 0) gave {:?}",
        lines(&cart)
    );
    let cart = set_as(&mut c, &who, "never-added", 0).await?;
    ensure!(
        lines(&cart) == vec![line("mug", 7)],
        "SetItemQuantity(absent, 0) gave {:?}",
        lines(&cart)
    );
    let call = |product: &str, quantity: i32| {
        authorized(
            who.token(),
            SetItemQuantityRequest {
                product_id: product.to_owned(),
                quantity,
            },
        )
    };
    invalid(
        c.set_item_quantity(call("mug", 100)).await,
        "quantity",
        "SetItemQuantity(quantity 100)",
    )?;
    invalid(
        c.set_item_quantity(call("mug", -1)).await,
        "quantity",
        "SetItemQuantity(quantity -1)",
    )?;
    invalid(
        c.set_item_quantity(call("Mug", 1)).await,
        "product_id",
        "SetItemQuantity(product_id \"Mug\")",
    )
}

async fn remove(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    add_as(&mut c, &who, "lamp", 1).await?;
    add_as(&mut c, &who, "mug", 2).await?;
    add_as(&mut c, &who, "bowl", 3).await?;
    let remove = |product: &str| {
        authorized(
            who.token(),
            RemoveItemRequest {
                product_id: product.to_owned(),
            },
        )
    };
    let cart = ok(c.remove_item(remove("mug")).await, "RemoveItem(mug)")?.cart;
    ensure!(
        lines(&cart) == vec![line("lamp", 1), line("bowl", 3)],
        "RemoveItem(mug) gave {:?}",
        lines(&cart)
    );
    let cart = ok(c.remove_item(remove("mug")).await, "RemoveItem(mug) again")?.cart;
    ensure!(
        lines(&cart) == vec![line("lamp", 1), line("bowl", 3)],
        "RemoveItem(mug) again gave {:?}",
        lines(&cart)
    );
    invalid(
        c.remove_item(remove("Not A Slug")).await,
        "product_id",
        "RemoveItem(\"Not A Slug\")",
    )
}

async fn empty(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let before = add_as(&mut c, &who, "lamp", 1).await?;
    let stale = before.as_ref().map(|c| c.etag.clone()).unwrap_or_default();
    let after = add_as(&mut c, &who, "mug", 1).await?;
    let current = after.as_ref().map(|c| c.etag.clone()).unwrap_or_default();
    ensure!(
        stale != current,
        "the etag did not change when the cart changed"
    );
    let status = refused(
        c.empty_cart(authorized(who.token(), EmptyCartRequest { etag: stale }))
            .await,
        Code::Aborted,
        "EmptyCart(stale etag)",
    )?;
    reason(&status, "ETAG_MISMATCH", "EmptyCart(stale etag)")?;
    ensure!(
        lines(&get(&mut c, &who).await?).len() == 2,
        "EmptyCart with a stale etag changed the cart"
    );
    let cart = ok(
        c.empty_cart(authorized(who.token(), EmptyCartRequest { etag: current }))
            .await,
        "EmptyCart(current etag)",
    )?
    .cart;
    ensure!(
        lines(&cart).is_empty(),
        "EmptyCart(current etag) left {:?}",
        lines(&cart)
    );
    add_as(&mut c, &who, "bowl", 1).await?;
    ok(
        c.empty_cart(authorized(who.token(), EmptyCartRequest::default()))
            .await,
        "EmptyCart(no etag)",
    )?;
    let cart = ok(
        c.empty_cart(authorized(who.token(), EmptyCartRequest::default()))
            .await,
        "EmptyCart(no etag) again",
    )?
    .cart;
    ensure!(
        lines(&cart).is_empty() && lines(&get(&mut c, &who).await?).is_empty(),
        "EmptyCart left lines"
    );
    Ok(())
}

async fn isolated(mut c: Client, target: Target) -> Checked {
    let (a, b) = (guest(&target).await?, guest(&target).await?);
    add_as(&mut c, &a, "lamp", 3).await?;
    ensure!(
        lines(&get(&mut c, &b).await?).is_empty(),
        "caller B sees caller A's lines"
    );
    ok(
        c.empty_cart(authorized(b.token(), EmptyCartRequest::default()))
            .await,
        "EmptyCart(caller B)",
    )?;
    ok(
        c.remove_item(authorized(
            b.token(),
            RemoveItemRequest {
                product_id: "lamp".into(),
            },
        ))
        .await,
        "RemoveItem(caller B)",
    )?;
    ensure!(
        lines(&get(&mut c, &a).await?) == vec![line("lamp", 3)],
        "caller B's calls changed caller A's cart"
    );
    Ok(())
}

async fn merge(mut c: Client, target: Target) -> Checked {
    let visitor = guest(&target).await?;
    add_as(&mut c, &visitor, "lamp", 60).await?;
    add_as(&mut c, &visitor, "mug", 2).await?;
    let (user, _) = registered(&target).await?;
    add_as(&mut c, &user, "bowl", 1).await?;
    add_as(&mut c, &user, "lamp", 50).await?;
    let merged = ok(
        c.merge_guest_cart(authorized(
            user.token(),
            MergeGuestCartRequest {
                guest_access_token: visitor.token().to_owned(),
            },
        ))
        .await,
        "MergeGuestCart",
    )?;
    ensure!(
        lines(&merged.cart) == vec![line("bowl", 1), line("lamp", 99), line("mug", 2)],
        "the merged cart holds {:?}; expected bowl 1, lamp 99 (50 + 60 capped), mug 2",
        lines(&merged.cart)
    );
    ensure!(
        merged.truncated_product_ids == vec!["lamp".to_owned()],
        "truncated_product_ids is {:?}, expected [\"lamp\"]",
        merged.truncated_product_ids
    );
    ensure!(
        lines(&get(&mut c, &visitor).await?).is_empty(),
        "the guest's cart is not empty after the merge"
    );
    let again = ok(
        c.merge_guest_cart(authorized(
            user.token(),
            MergeGuestCartRequest {
                guest_access_token: visitor.token().to_owned(),
            },
        ))
        .await,
        "MergeGuestCart again",
    )?;
    ensure!(
        lines(&again.cart) == lines(&merged.cart) && again.truncated_product_ids.is_empty(),
        "a second merge changed something: {:?}, truncated {:?}",
        lines(&again.cart),
        again.truncated_product_ids
    );
    Ok(())
}

async fn merge_refused(mut c: Client, target: Target) -> Checked {
    let (visitor, other_guest) = (guest(&target).await?, guest(&target).await?);
    let (user, _) = registered(&target).await?;
    let (other_user, _) = registered(&target).await?;
    let status = refused(
        c.merge_guest_cart(authorized(
            visitor.token(),
            MergeGuestCartRequest {
                guest_access_token: other_guest.token().to_owned(),
            },
        ))
        .await,
        Code::FailedPrecondition,
        "MergeGuestCart(caller is a guest)",
    )?;
    reason(
        &status,
        "CALLER_IS_GUEST",
        "MergeGuestCart(caller is a guest)",
    )?;
    for (what, token) in [
        ("empty", String::new()),
        ("malformed", "not-a-token".to_owned()),
        ("forged", tampered(visitor.token())),
        ("a registered user's", other_user.token().to_owned()),
        ("the caller's own", user.token().to_owned()),
    ] {
        let call = format!("MergeGuestCart({what} guest_access_token)");
        let status = refused(
            c.merge_guest_cart(authorized(
                user.token(),
                MergeGuestCartRequest {
                    guest_access_token: token,
                },
            ))
            .await,
            Code::InvalidArgument,
            &call,
        )?;
        violation(&status, "guest_access_token", &call)?;
    }
    ensure!(
        lines(&get(&mut c, &user).await?).is_empty(),
        "refused merges changed the caller's cart"
    );
    Ok(())
}
