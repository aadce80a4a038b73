//! GetStock and BatchGetStock: public reads, 0 for a product never stocked, request order
//! kept; malformed or too many ids refused.

use bazaar_contract::inventory::v1::*;
use tonic::Code;

use super::{Client, product, stock_of};
use crate::check::{Checked, invalid, ok, refused, violation_within};
use crate::ensure;
use crate::shopper::restock;
use crate::target::{Target, garbage_token};

pub(super) async fn unknown_stock(mut c: Client) -> Checked {
    let p = product();
    ensure!(
        stock_of(&mut c, &p).await? == (0, 0),
        "a product never stocked has stock {:?}",
        stock_of(&mut c, &p).await?
    );
    ok(
        c.get_stock(garbage_token(GetStockRequest { product_id: p }))
            .await,
        "GetStock with a bad authorization header (public)",
    )?;
    Ok(())
}

pub(super) async fn stock_invalid(mut c: Client) -> Checked {
    invalid(
        c.get_stock(GetStockRequest {
            product_id: "Not A Slug".into(),
        })
        .await,
        "product_id",
        "GetStock(\"Not A Slug\")",
    )?;
    invalid(
        c.get_stock(GetStockRequest {
            product_id: String::new(),
        })
        .await,
        "product_id",
        "GetStock(\"\")",
    )?;
    let status = refused(
        c.batch_get_stock(BatchGetStockRequest {
            product_ids: vec!["lamp".into(); 101],
        })
        .await,
        Code::InvalidArgument,
        "BatchGetStock(101 ids)",
    )?;
    violation_within(&status, "product_ids", "BatchGetStock(101 ids)")?;
    let status = refused(
        c.batch_get_stock(BatchGetStockRequest {
            product_ids: vec!["lamp".into(), "Bad".into()],
        })
        .await,
        Code::InvalidArgument,
        "BatchGetStock(a malformed id)",
    )?;
    violation_within(&status, "product_ids", "BatchGetStock(a malformed id)")
}

pub(super) async fn batch(mut c: Client, target: Target) -> Checked {
    let (a, b) = (product(), product());
    let stocked = target.admin().is_ok();
    if stocked {
        restock(&target, &a, 7).await?;
    }
    let ids = vec![b.clone(), a.clone(), b.clone()];
    let got = ok(
        c.batch_get_stock(BatchGetStockRequest {
            product_ids: ids.clone(),
        })
        .await,
        "BatchGetStock",
    )?
    .stocks;
    let got_ids: Vec<String> = got.iter().map(|s| s.product_id.clone()).collect();
    ensure!(
        got_ids == ids,
        "BatchGetStock({ids:?}) answered for {got_ids:?}"
    );
    ensure!(
        got[1].available == if stocked { 7 } else { 0 },
        "BatchGetStock says {} available of {a}",
        got[1].available
    );
    ensure!(
        got[0].available == 0 && got[2].available == 0,
        "a product never stocked has stock in BatchGetStock"
    );
    let empty = ok(
        c.batch_get_stock(BatchGetStockRequest::default()).await,
        "BatchGetStock([])",
    )?;
    ensure!(
        empty.stocks.is_empty(),
        "BatchGetStock([]) returned {} entries",
        empty.stocks.len()
    );
    ok(
        c.batch_get_stock(BatchGetStockRequest {
            product_ids: vec![a; 100],
        })
        .await,
        "BatchGetStock(100 ids)",
    )?;
    Ok(())
}
