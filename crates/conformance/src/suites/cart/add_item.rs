//! AddItem: adding to a line or appending one, `request_id` idempotency scoped to the
//! caller, validation, and the limits of a line (99 units) and of a cart (100 lines).

use bazaar_contract::cart::v1::*;
use tonic::Code;

use super::{Client, add_as, add_request, get, line, lines, set_as};
use crate::check::{Checked, invalid, ok, reason, refused};
use crate::ensure;
use crate::shopper::{Caller, guest};
use crate::target::{Target, authorized, unique};

pub(super) async fn add(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn add_idempotent(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn add_reused(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn add_scoped(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn add_invalid(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn line_limit(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    add_as(&mut c, &who, "lamp", 60).await?;
    over_limit(
        &mut c,
        &who,
        ("lamp", 40),
        "AddItem(60 + 40 units)",
        "LINE_QUANTITY_LIMIT",
        ("max_quantity", "99"),
    )
    .await?;
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

pub(super) async fn cart_limit(mut c: Client, target: Target) -> Checked {
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
    over_limit(
        &mut c,
        &who,
        ("p100", 1),
        "AddItem(a 101st line)",
        "CART_LINE_LIMIT",
        ("max_lines", "100"),
    )
    .await?;
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

/// Checks that AddItem of `quantity` more of `product` is refused FAILED_PRECONDITION with
/// the ErrorInfo `reason_code`, whose metadata names the limit (`key` = `value`).
async fn over_limit(
    c: &mut Client,
    who: &Caller,
    (product, quantity): (&str, i32),
    call: &str,
    reason_code: &str,
    (key, value): (&str, &str),
) -> Checked {
    let status = refused(
        c.add_item(authorized(
            who.token(),
            add_request(&unique("r"), product, quantity),
        ))
        .await,
        Code::FailedPrecondition,
        call,
    )?;
    let info = reason(&status, reason_code, call)?;
    ensure!(
        info.metadata.get(key).map(String::as_str) == Some(value),
        "{reason_code} metadata is {:?}, expected {key} = {value}",
        info.metadata
    );
    Ok(())
}
