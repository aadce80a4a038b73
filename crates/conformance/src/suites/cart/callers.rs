//! Whose cart a call touches: only the caller's, named by its token; no token, a malformed
//! or a forged one is refused before anything else.

use bazaar_contract::cart::v1::*;
use tonic::Code;

use super::{Client, add_as, add_request, get, line, lines};
use crate::check::{Checked, ok, refused};
use crate::ensure;
use crate::shopper::{guest, registered};
use crate::target::{Target, authorized, garbage_token, tampered, unique};

pub(super) async fn unauthenticated(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn empty_at_first(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn isolated(mut c: Client, target: Target) -> Checked {
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
