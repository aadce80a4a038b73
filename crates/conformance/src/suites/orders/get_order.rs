//! GetOrder: a caller sees only its own orders; an empty or unknown id is refused.

use bazaar_contract::orders::v1::*;
use tonic::Code;

use super::{Client, own_orders};
use crate::check::{Checked, invalid, refused};
use crate::ensure;
use crate::shopper::{guest, placed_order, products};
use crate::target::{Target, authorized, unique};

pub(super) async fn isolated(mut c: Client, target: Target) -> Checked {
    let product = products(&target, 1).await?.remove(0);
    let (_, order) = placed_order(&target, &[&product.id], 1).await?;
    let stranger = guest(&target).await?;
    refused(
        c.get_order(authorized(
            stranger.token(),
            GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await,
        Code::NotFound,
        "GetOrder(another caller's order)",
    )?;
    let listed = own_orders(&mut c, &stranger, "ListOrders(a new caller)").await?;
    ensure!(
        listed.is_empty(),
        "a new caller lists {} orders",
        listed.len()
    );
    Ok(())
}

pub(super) async fn get_errors(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    invalid(
        c.get_order(authorized(buyer.token(), GetOrderRequest::default()))
            .await,
        "order_id",
        "GetOrder(\"\")",
    )?;
    refused(
        c.get_order(authorized(
            buyer.token(),
            GetOrderRequest {
                order_id: unique("no-such-order"),
            },
        ))
        .await,
        Code::NotFound,
        "GetOrder(unknown)",
    )?;
    Ok(())
}
