//! SetItemQuantity: sets a line, appends one, removes one with 0; out of range refused.

use bazaar_contract::cart::v1::*;

use super::{Client, add_as, line, lines, set_as};
use crate::check::{Checked, invalid};
use crate::ensure;
use crate::shopper::guest;
use crate::target::{Target, authorized};

pub(super) async fn set_quantity(mut c: Client, target: Target) -> Checked {
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
