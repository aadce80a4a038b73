//! ListOrders: the caller's orders, newest first, in pages bound to the caller.

use bazaar_contract::orders::v1::*;

use super::Client;
use crate::check::{Checked, invalid, ok};
use crate::ensure;
use crate::pages::walk;
use crate::shopper::{
    GOOD_CARD, add_to_cart, guest, order_request, place_order, placed_order, products, restock,
};
use crate::suites::instant;
use crate::target::{Target, authorized};

pub(super) async fn list(mut c: Client, target: Target) -> Checked {
    let product = products(&target, 1).await?.remove(0);
    let (buyer, first) = placed_order(&target, &[&product.id], 1).await?;
    let mut ids = vec![first.id.clone()];
    for _ in 0..2 {
        restock(&target, &product.id, 1).await?;
        add_to_cart(&target, &buyer, &product.id, 1).await?;
        let order = place_order(&target, &buyer, order_request(GOOD_CARD, "USD")).await?;
        ids.push(order.id);
    }
    let listed = walk(1, |page_token| {
        let mut c = c.clone();
        let token = buyer.token().to_owned();
        async move {
            let page = ok(
                c.list_orders(authorized(
                    &token,
                    ListOrdersRequest {
                        page_size: 1,
                        page_token,
                    },
                ))
                .await,
                "ListOrders(page_size 1)",
            )?;
            Ok((page.orders, page.next_page_token))
        }
    })
    .await?;
    let times: Vec<(i64, i32)> = listed
        .iter()
        .map(|o| instant(o.create_time.as_ref()))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "ListOrders is not newest first: create times {times:?}"
    );
    let mut listed_ids: Vec<String> = listed.iter().map(|o| o.id.clone()).collect();
    listed_ids.sort();
    ids.sort();
    ensure!(
        listed_ids == ids,
        "ListOrders in pages of 1 lists {listed_ids:?}; the caller's orders are {ids:?}"
    );
    let token = buyer.token();
    invalid(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: -1,
                ..Default::default()
            },
        ))
        .await,
        "page_size",
        "ListOrders(page_size -1)",
    )?;
    invalid(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
        ))
        .await,
        "page_token",
        "ListOrders(page_token \"garbage\")",
    )?;
    let big = ok(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: 100_000,
                ..Default::default()
            },
        ))
        .await,
        "ListOrders(page_size 100000)",
    )?;
    ensure!(
        big.orders.len() == 3,
        "page_size 100000 gave {} of 3 orders",
        big.orders.len()
    );
    let page = ok(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await,
        "ListOrders(page_size 1)",
    )?;
    let stranger = guest(&target).await?;
    invalid(
        c.list_orders(authorized(
            stranger.token(),
            ListOrdersRequest {
                page_size: 1,
                page_token: page.next_page_token,
            },
        ))
        .await,
        "page_token",
        "ListOrders(another caller's page token)",
    )
}
