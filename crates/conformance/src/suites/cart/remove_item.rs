//! RemoveItem: removes a line, and succeeds for a product not in the cart.

use bazaar_contract::cart::v1::*;

use super::{Client, add_as, line, lines};
use crate::check::{Checked, invalid, ok};
use crate::ensure;
use crate::shopper::guest;
use crate::target::{Target, authorized};

pub(super) async fn remove(mut c: Client, target: Target) -> Checked {
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
