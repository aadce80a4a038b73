//! Checkouts that fail for a business reason (not enough stock, a declined card): the order
//! ends FAILED with the reason, and the saga undoes what it did: stock and cart unchanged.

use bazaar_contract::catalog::v1::Product;
use bazaar_contract::orders::v1::*;

use super::{Client, cart_lines, filled_cart, own_order, stock_levels};
use crate::check::{Checked, fail};
use crate::ensure;
use crate::shopper::{
    DECLINED_CARD, GOOD_CARD, add_to_cart, catalog_page, guest, order_request, place_order, stock,
};
use crate::target::Target;

/// A product of the catalog with less than 99 units available, and how many it has.
async fn scarce_product(target: &Target) -> Checked<(Product, i64)> {
    let all = catalog_page(target).await?;
    for product in all.into_iter().rev() {
        let s = stock(target, &product.id).await?;
        if s.available < 99 {
            return Ok((product, s.available));
        }
    }
    fail("every product has 99 or more units available, so no cart can ask for more")
}

pub(super) async fn out_of_stock(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let (product, available) = scarce_product(&target).await?;
    let wanted = i32::try_from(available + 1).unwrap_or(99);
    add_to_cart(&target, &buyer, &product.id, wanted).await?;
    let before = stock(&target, &product.id).await?;
    let order = place_order(&target, &buyer, order_request(GOOD_CARD, "USD")).await?;
    ensure!(
        order.state() == OrderState::Failed,
        "a cart asking {wanted} of {available} available ended {:?}",
        order.state()
    );
    let Some(failure) = order.failure.as_ref() else {
        return fail("a FAILED order has no failure");
    };
    ensure!(
        failure.reason() == FailureReason::OutOfStock,
        "the failure reason is {:?}",
        failure.reason()
    );
    ensure!(
        failure.product_ids == vec![product.id.clone()],
        "the failure names {:?}, the short product is {}",
        failure.product_ids,
        product.id
    );
    ensure!(
        (1..=500).contains(&failure.message.chars().count()),
        "the failure message has {} characters",
        failure.message.chars().count()
    );
    let after = stock(&target, &product.id).await?;
    ensure!(
        after == before,
        "a failed checkout changed the stock from {before:?} to {after:?}"
    );
    let items = cart_lines(&target, &buyer).await?;
    ensure!(
        items.len() == 1 && items[0].quantity == wanted,
        "a failed checkout changed the cart: {items:?}"
    );
    let got = own_order(&mut c, &buyer, &order.id).await?;
    ensure!(
        got.as_ref().map(Order::state) == Some(OrderState::Failed),
        "GetOrder says {:?}",
        got.map(|o| o.state())
    );
    Ok(())
}

pub(super) async fn declined(_c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let before = stock_levels(&target, &list).await?;
    let order = place_order(&target, &buyer, order_request(DECLINED_CARD, "USD")).await?;
    ensure!(
        order.state() == OrderState::Failed,
        "a checkout with a declined card ended {:?}",
        order.state()
    );
    let failure = order.failure.clone().unwrap_or_default();
    ensure!(
        failure.reason() == FailureReason::PaymentDeclined,
        "the failure reason is {:?}",
        failure.reason()
    );
    ensure!(
        (1..=500).contains(&failure.message.chars().count()),
        "the failure message has {} characters",
        failure.message.chars().count()
    );
    let after = stock_levels(&target, &list).await?;
    ensure!(
        after == before,
        "after a declined checkout, stock went from {before:?} to {after:?}: units stayed reserved or sold"
    );
    let items = cart_lines(&target, &buyer).await?;
    ensure!(
        items.len() == 2,
        "a failed checkout changed the cart: {items:?}"
    );
    Ok(())
}
