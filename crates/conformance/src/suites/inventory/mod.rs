//! Inventory: public stock reads, admin-only restocking, and reservations that hold units
//! all or nothing until they are committed, released or expire.
//!
//! Stock is never assumed: every check works on fresh product ids (inventory does not
//! know the catalog, so any slug is a product with 0 units until restocked). Restocking
//! needs an admin; reservations of restocked units need one too, so those checks are
//! skipped without one.
//!
//! One file per part of the contract: `stock` (GetStock, BatchGetStock), `restock`,
//! `reserve_stock` and `reservations` (what becomes of a reservation: commit, release,
//! expiry). Fresh product ids and the stock read every check compares are here.

mod reservations;
mod reserve_stock;
mod restock;
mod stock;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::*;
use tonic::transport::Channel;

use crate::check::{Checked, ok};
use crate::target::{Target, unique};
use crate::{Runner, ensure};

type Client = InventoryServiceClient<Channel>;

/// Runs every inventory check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = InventoryServiceClient::new(target.own());
    r.check(
        "GetStock of a product never stocked is 0 available, 0 reserved",
        stock::unknown_stock(c.clone()),
    )
    .await;
    r.check(
        "GetStock/BatchGetStock: malformed ids or more than 100 are INVALID_ARGUMENT",
        stock::stock_invalid(c.clone()),
    )
    .await;
    r.check(
        "BatchGetStock keeps request order and duplicates; empty gives empty",
        stock::batch(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock without a token or with a bad one is refused (UNAUTHENTICATED; PERMISSION_DENIED for a certificate that may not restock)",
        restock::restock_unauthenticated(c.clone()),
    )
    .await;
    r.check(
        "Restock by a caller who is not an admin is PERMISSION_DENIED",
        restock::restock_forbidden(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock adds available units at once",
        restock::restock_adds(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock retried with the same request_id adds nothing; other parameters REQUEST_ID_REUSED",
        restock::restock_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check("Restock: malformed request_id or product_id, quantity outside 1..=1000000 are INVALID_ARGUMENT", restock::restock_invalid(c.clone(), target.clone())).await;
    r.check(
        "ReserveStock holds units: ACTIVE, lines in request order, available moves to reserved",
        reserve_stock::reserve(c.clone(), target.clone()),
    )
    .await;
    r.check("ReserveStock retried with the same request_id returns the same reservation; other parameters REQUEST_ID_REUSED", reserve_stock::reserve_idempotent(c.clone(), target.clone())).await;
    r.check("ReserveStock is all or nothing: a short line is FAILED_PRECONDITION INSUFFICIENT_STOCK, per product", reserve_stock::reserve_short(c.clone(), target.clone())).await;
    r.check(
        "ReserveStock: bad lines, quantities, ttl or reference are INVALID_ARGUMENT",
        reserve_stock::reserve_invalid(c.clone()),
    )
    .await;
    r.check("CommitReservation removes the units for good and is idempotent; release then fails RESERVATION_COMMITTED", reservations::commit(c.clone(), target.clone())).await;
    r.check("ReleaseReservation returns the units and is idempotent; commit then fails RESERVATION_RELEASED", reservations::release(c.clone(), target.clone())).await;
    r.check(
        "an expired reservation returns its units and cannot be committed (RESERVATION_EXPIRED)",
        reservations::expiry(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Get/Commit/ReleaseReservation: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        reservations::reservation_errors(c.clone()),
    )
    .await;
}

async fn stock_of(c: &mut Client, product: &str) -> Checked<(i64, i64)> {
    let stock = ok(
        c.get_stock(GetStockRequest {
            product_id: product.to_owned(),
        })
        .await,
        "GetStock",
    )?
    .stock
    .unwrap_or_default();
    ensure!(
        stock.product_id == product,
        "GetStock({product}) answered for {:?}",
        stock.product_id
    );
    ensure!(
        stock.available >= 0 && stock.reserved >= 0,
        "negative stock for {product}: {stock:?}"
    );
    Ok((stock.available, stock.reserved))
}

fn product() -> String {
    unique("stock")
}
