//! ListCharges: an order's charges newest first, in pages bound to their filter.

use bazaar_contract::payment::v1::*;

use super::{Client, charge_request, of_order, usd};
use crate::check::{Checked, invalid, ok, reason};
use crate::ensure;
use crate::shopper::{DECLINED_CARD, GOOD_CARD};
use crate::suites::instant;
use crate::target::unique;

pub(super) async fn list(mut c: Client) -> Checked {
    let order = unique("order");
    let mut ids = Vec::new();
    for card in [DECLINED_CARD, "4000000000009995", GOOD_CARD] {
        match c.charge(charge_request(&order, usd(300), card)).await {
            Ok(response) => ids.push(response.into_inner().charge.unwrap_or_default().id),
            Err(status) => ids.push(
                reason(&status, "CARD_DECLINED", "Charge")?
                    .metadata
                    .get("charge_id")
                    .cloned()
                    .unwrap_or_default(),
            ),
        }
    }
    let listed = of_order(&c, &order, 1).await?;
    let mut listed_ids: Vec<String> = listed.iter().map(|c| c.id.clone()).collect();
    let order_times: Vec<(i64, i32)> = listed
        .iter()
        .map(|c| instant(c.create_time.as_ref()))
        .collect();
    ensure!(
        order_times.windows(2).all(|w| w[0] >= w[1]),
        "ListCharges(order, pages of 1) is not newest first: create times {order_times:?}"
    );
    listed_ids.sort();
    ids.sort();
    ensure!(
        listed_ids == ids,
        "ListCharges(order, pages of 1) lists {listed_ids:?}; the order's charges are {ids:?}"
    );
    ensure!(
        listed.iter().all(|ch| ch.order_id == order),
        "ListCharges(order) lists a charge of another order"
    );
    let none = of_order(&c, &unique("order"), 0).await?;
    ensure!(
        none.is_empty(),
        "an order with no charges lists {}",
        none.len()
    );
    let all = ok(
        c.list_charges(ListChargesRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await,
        "ListCharges(page_size 100000)",
    )?;
    ensure!(
        all.charges.len() <= 100,
        "page_size 100000 gave {} charges, more than 100",
        all.charges.len()
    );
    let default = ok(
        c.list_charges(ListChargesRequest::default()).await,
        "ListCharges(page_size 0)",
    )?;
    ensure!(
        default.charges.len() <= 20,
        "page_size 0 gave {} charges, more than the default 20",
        default.charges.len()
    );
    let times: Vec<(i64, i32)> = all
        .charges
        .iter()
        .map(|c| instant(c.create_time.as_ref()))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "ListCharges is not newest first by create_time"
    );
    invalid(
        c.list_charges(ListChargesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size",
        "ListCharges(page_size -1)",
    )?;
    invalid(
        c.list_charges(ListChargesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListCharges(page_token \"garbage\")",
    )?;
    let first = ok(
        c.list_charges(ListChargesRequest {
            page_size: 1,
            page_token: String::new(),
            order_id: order.clone(),
        })
        .await,
        "ListCharges(order, page_size 1)",
    )?;
    invalid(
        c.list_charges(ListChargesRequest {
            page_size: 1,
            page_token: first.next_page_token,
            order_id: unique("order"),
        })
        .await,
        "page_token",
        "ListCharges(token of another order_id)",
    )
}
