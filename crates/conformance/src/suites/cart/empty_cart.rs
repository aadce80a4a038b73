//! EmptyCart: the etag guard against emptying a cart that changed since it was read.

use bazaar_contract::cart::v1::*;
use tonic::Code;

use super::{Client, add_as, get, lines};
use crate::check::{Checked, ok, reason, refused};
use crate::ensure;
use crate::shopper::guest;
use crate::target::{Target, authorized};

pub(super) async fn empty(mut c: Client, target: Target) -> Checked {
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
