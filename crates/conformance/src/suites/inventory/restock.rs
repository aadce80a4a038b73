//! Restock: admins only, adds available units at once, idempotent on `request_id`.

use bazaar_contract::inventory::v1::*;
use tonic::Code;

use super::{Client, product, stock_of};
use crate::check::{Checked, invalid, ok, reason, refused};
use crate::ensure;
use crate::shopper::{admin_token, guest, restock};
use crate::suites::repeat;
use crate::target::{Target, authorized, garbage_token, unique};

fn restock_request(request_id: &str, product: &str, quantity: i32) -> RestockRequest {
    RestockRequest {
        request_id: request_id.to_owned(),
        product_id: product.to_owned(),
        quantity,
    }
}

pub(super) async fn restock_unauthenticated(mut c: Client) -> Checked {
    let p = product();
    // No token: UNAUTHENTICATED, or PERMISSION_DENIED when the kit's connection shows the
    // certificate of a service that may not restock (it does, for the RPCs only orders may
    // call): a credential was shown, of the wrong kind.
    match c.restock(restock_request(&unique("r"), &p, 5)).await {
        Err(status)
            if matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ) => {}
        other => refused(other, Code::Unauthenticated, "Restock(no token)").map(drop)?,
    }
    refused(
        c.restock(garbage_token(restock_request(&unique("r"), &p, 5)))
            .await,
        Code::Unauthenticated,
        "Restock(malformed token)",
    )?;
    ensure!(
        stock_of(&mut c, &p).await? == (0, 0),
        "a refused Restock changed the stock"
    );
    Ok(())
}

pub(super) async fn restock_forbidden(mut c: Client, target: Target) -> Checked {
    let who = guest(&target).await?;
    let p = product();
    refused(
        c.restock(authorized(
            who.token(),
            restock_request(&unique("r"), &p, 5),
        ))
        .await,
        Code::PermissionDenied,
        "Restock(a guest)",
    )?;
    let (user, _) = crate::shopper::registered(&target).await?;
    refused(
        c.restock(authorized(
            user.token(),
            restock_request(&unique("r"), &p, 5),
        ))
        .await,
        Code::PermissionDenied,
        "Restock(a shopper)",
    )?;
    ensure!(
        stock_of(&mut c, &p).await? == (0, 0),
        "a refused Restock changed the stock"
    );
    Ok(())
}

pub(super) async fn restock_adds(mut c: Client, target: Target) -> Checked {
    let p = product();
    let stock = restock(&target, &p, 5).await?;
    ensure!(
        stock.product_id == p && stock.available == 5 && stock.reserved == 0,
        "Restock(5) of a new product answered {stock:?}"
    );
    let stock = restock(&target, &p, 1_000_000).await?;
    ensure!(
        stock.available == 1_000_005,
        "Restock(5) then Restock(1000000) answered {stock:?}"
    );
    ensure!(
        stock_of(&mut c, &p).await? == (1_000_005, 0),
        "GetStock disagrees with Restock"
    );
    Ok(())
}

pub(super) async fn restock_idempotent(mut c: Client, target: Target) -> Checked {
    let token = admin_token(&target).await?;
    let (p, id) = (product(), unique("restock"));
    let first = ok(
        c.restock(authorized(&token, restock_request(&id, &p, 4)))
            .await,
        "Restock",
    )?;
    let retry = ok(
        c.restock(authorized(&token, restock_request(&id, &p, 4)))
            .await,
        "Restock(retry)",
    )?;
    ensure!(
        retry == first,
        "the retry answered {retry:?}, the first call {first:?}"
    );
    ensure!(
        stock_of(&mut c, &p).await? == (4, 0),
        "after a retried Restock(4) the stock is {:?}",
        stock_of(&mut c, &p).await?
    );
    let status = refused(
        c.restock(authorized(&token, restock_request(&id, &p, 5)))
            .await,
        Code::AlreadyExists,
        "Restock(same request_id, other quantity)",
    )?;
    reason(&status, "REQUEST_ID_REUSED", "Restock(reused request_id)")?;
    Ok(())
}

pub(super) async fn restock_invalid(mut c: Client, target: Target) -> Checked {
    let token = admin_token(&target).await?;
    let p = product();
    for q in [0, -1, 1_000_001] {
        invalid(
            c.restock(authorized(&token, restock_request(&unique("r"), &p, q)))
                .await,
            "quantity",
            &format!("Restock(quantity {q})"),
        )?;
    }
    invalid(
        c.restock(authorized(
            &token,
            restock_request(&unique("r"), "Bad Id", 1),
        ))
        .await,
        "product_id",
        "Restock(product_id \"Bad Id\")",
    )?;
    for id in ["", "has space", &repeat('r', 65)] {
        invalid(
            c.restock(authorized(&token, restock_request(id, &p, 1)))
                .await,
            "request_id",
            &format!("Restock(request_id {id:?})"),
        )?;
    }
    ensure!(
        stock_of(&mut c, &p).await? == (0, 0),
        "refused Restocks changed the stock"
    );
    Ok(())
}
