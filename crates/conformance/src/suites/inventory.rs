//! Inventory: public stock reads, admin-only restocking, and reservations that hold units
//! all or nothing until they are committed, released or expire.
//!
//! Stock is never assumed: every check works on fresh product ids (inventory does not
//! know the catalog, so any slug is a product with 0 units until restocked). Restocking
//! needs an admin; reservations of restocked units need one too, so those checks are
//! skipped without one.

use std::time::Duration;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::*;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::{from_now, pause, repeat};
use crate::check::{Checked, fail, invalid, ok, reason, refused, violation_within};
use crate::shopper::{admin_token, guest, restock};
use crate::target::{Target, authorized, garbage_token, unique};
use crate::{Runner, ensure};

type Client = InventoryServiceClient<Channel>;

/// Runs every inventory check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = InventoryServiceClient::new(target.own());
    r.check(
        "GetStock of a product never stocked is 0 available, 0 reserved",
        unknown_stock(c.clone()),
    )
    .await;
    r.check(
        "GetStock/BatchGetStock: malformed ids or more than 100 are INVALID_ARGUMENT",
        stock_invalid(c.clone()),
    )
    .await;
    r.check(
        "BatchGetStock keeps request order and duplicates; empty gives empty",
        batch(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock without a token or with a bad one is UNAUTHENTICATED",
        restock_unauthenticated(c.clone()),
    )
    .await;
    r.check(
        "Restock by a caller who is not an admin is PERMISSION_DENIED",
        restock_forbidden(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock adds available units at once",
        restock_adds(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Restock retried with the same request_id adds nothing; other parameters REQUEST_ID_REUSED",
        restock_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check("Restock: malformed request_id or product_id, quantity outside 1..=1000000 are INVALID_ARGUMENT", restock_invalid(c.clone(), target.clone())).await;
    r.check(
        "ReserveStock holds units: ACTIVE, lines in request order, available moves to reserved",
        reserve(c.clone(), target.clone()),
    )
    .await;
    r.check("ReserveStock retried with the same request_id returns the same reservation; other parameters REQUEST_ID_REUSED", reserve_idempotent(c.clone(), target.clone())).await;
    r.check("ReserveStock is all or nothing: a short line is FAILED_PRECONDITION INSUFFICIENT_STOCK, per product", reserve_short(c.clone(), target.clone())).await;
    r.check(
        "ReserveStock: bad lines, quantities, ttl or reference are INVALID_ARGUMENT",
        reserve_invalid(c.clone()),
    )
    .await;
    r.check("CommitReservation removes the units for good and is idempotent; release then fails RESERVATION_COMMITTED", commit(c.clone(), target.clone())).await;
    r.check("ReleaseReservation returns the units and is idempotent; commit then fails RESERVATION_RELEASED", release(c.clone(), target.clone())).await;
    r.check(
        "an expired reservation returns its units and cannot be committed (RESERVATION_EXPIRED)",
        expiry(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "Get/Commit/ReleaseReservation: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        reservation_errors(c.clone()),
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

async fn unknown_stock(mut c: Client) -> Checked {
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

async fn stock_invalid(mut c: Client) -> Checked {
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

async fn batch(mut c: Client, target: Target) -> Checked {
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

fn restock_request(request_id: &str, product: &str, quantity: i32) -> RestockRequest {
    RestockRequest {
        request_id: request_id.to_owned(),
        product_id: product.to_owned(),
        quantity,
    }
}

async fn restock_unauthenticated(mut c: Client) -> Checked {
    let p = product();
    refused(
        c.restock(restock_request(&unique("r"), &p, 5)).await,
        Code::Unauthenticated,
        "Restock(no token)",
    )?;
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

async fn restock_forbidden(mut c: Client, target: Target) -> Checked {
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

async fn restock_adds(mut c: Client, target: Target) -> Checked {
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

async fn restock_idempotent(mut c: Client, target: Target) -> Checked {
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

async fn restock_invalid(mut c: Client, target: Target) -> Checked {
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

fn lines(items: &[(&str, i32)]) -> Vec<ReservationLine> {
    items
        .iter()
        .map(|(p, q)| ReservationLine {
            product_id: (*p).to_owned(),
            quantity: *q,
        })
        .collect()
}

fn reserve_request(
    request_id: &str,
    items: &[(&str, i32)],
    ttl_secs: i64,
    reference: &str,
) -> ReserveStockRequest {
    ReserveStockRequest {
        request_id: request_id.to_owned(),
        lines: lines(items),
        ttl: (ttl_secs > 0).then_some(prost_types::Duration {
            seconds: ttl_secs,
            nanos: 0,
        }),
        reference: reference.to_owned(),
    }
}

async fn reserve_ok(c: &mut Client, request: ReserveStockRequest) -> Checked<Reservation> {
    let reservation = ok(c.reserve_stock(request).await, "ReserveStock")?.reservation;
    reservation.map_or_else(|| fail("ReserveStock answered without the reservation"), Ok)
}

async fn reserve(mut c: Client, target: Target) -> Checked {
    let (a, b) = (product(), product());
    restock(&target, &a, 10).await?;
    restock(&target, &b, 3).await?;
    let reservation = reserve_ok(
        &mut c,
        reserve_request(&unique("res"), &[(&b, 3), (&a, 4)], 0, "order-42"),
    )
    .await?;
    ensure!(
        reservation.state() == ReservationState::Active,
        "a new reservation is {:?}",
        reservation.state()
    );
    ensure!(
        reservation.lines == lines(&[(&b, 3), (&a, 4)]),
        "the reservation's lines are {:?}",
        reservation.lines
    );
    ensure!(
        reservation.reference == "order-42",
        "the reference is {:?}",
        reservation.reference
    );
    ensure!(
        (1..=64).contains(&reservation.id.len()),
        "reservation id of {} characters",
        reservation.id.len()
    );
    let ttl = from_now(reservation.expire_time.as_ref());
    ensure!(
        ttl.is_some_and(|s| (14.0 * 60.0..=16.0 * 60.0).contains(&s)),
        "with no ttl the reservation expires in {ttl:?} s, not the default 15 minutes"
    );
    ensure!(
        reservation.update_time == reservation.create_time,
        "an ACTIVE reservation has update_time {:?} != create_time {:?}",
        reservation.update_time,
        reservation.create_time
    );
    ensure!(
        stock_of(&mut c, &a).await? == (6, 4),
        "after reserving 4 of 10, stock is {:?}",
        stock_of(&mut c, &a).await?
    );
    ensure!(
        stock_of(&mut c, &b).await? == (0, 3),
        "after reserving 3 of 3, stock is {:?}",
        stock_of(&mut c, &b).await?
    );
    let got = ok(
        c.get_reservation(GetReservationRequest {
            reservation_id: reservation.id.clone(),
        })
        .await,
        "GetReservation",
    )?
    .reservation;
    ensure!(
        got.as_ref() == Some(&reservation),
        "GetReservation returned {got:?}, ReserveStock {reservation:?}"
    );
    Ok(())
}

async fn reserve_idempotent(mut c: Client, target: Target) -> Checked {
    let p = product();
    restock(&target, &p, 10).await?;
    let id = unique("res");
    let first = reserve_ok(&mut c, reserve_request(&id, &[(&p, 2)], 60, "")).await?;
    let retry = reserve_ok(&mut c, reserve_request(&id, &[(&p, 2)], 60, "")).await?;
    ensure!(
        retry.id == first.id,
        "the retry made reservation {}, the first call {}",
        retry.id,
        first.id
    );
    ensure!(
        stock_of(&mut c, &p).await? == (8, 2),
        "after a retried reservation of 2, stock is {:?}",
        stock_of(&mut c, &p).await?
    );
    let status = refused(
        c.reserve_stock(reserve_request(&id, &[(&p, 3)], 60, ""))
            .await,
        Code::AlreadyExists,
        "ReserveStock(same request_id, other quantity)",
    )?;
    reason(
        &status,
        "REQUEST_ID_REUSED",
        "ReserveStock(reused request_id)",
    )?;
    Ok(())
}

async fn reserve_short(mut c: Client, target: Target) -> Checked {
    let (plenty, short, none) = (product(), product(), product());
    let stocked = target.admin().is_ok();
    if stocked {
        restock(&target, &plenty, 10).await?;
        restock(&target, &short, 1).await?;
    }
    let request = reserve_request(
        &unique("res"),
        &[(&plenty, 2), (&short, 3), (&none, 1)],
        60,
        "",
    );
    let status = refused(
        c.reserve_stock(request).await,
        Code::FailedPrecondition,
        "ReserveStock(a line asks for more than available)",
    )?;
    reason(&status, "INSUFFICIENT_STOCK", "ReserveStock(short)")?;
    let Some(failure) = status.get_details_precondition_failure() else {
        return fail("INSUFFICIENT_STOCK carries no google.rpc.PreconditionFailure");
    };
    let mut subjects: Vec<&str> = failure
        .violations
        .iter()
        .map(|v| v.subject.as_str())
        .collect();
    subjects.sort_unstable();
    let mut expected = if stocked {
        vec![short.as_str(), none.as_str()]
    } else {
        vec![plenty.as_str(), short.as_str(), none.as_str()]
    };
    expected.sort_unstable();
    ensure!(
        subjects == expected,
        "the PreconditionFailure names {subjects:?}; the short lines are {expected:?}"
    );
    ensure!(
        failure.violations.iter().all(|v| v.r#type == "STOCK"),
        "violation types are {:?}, not \"STOCK\"",
        failure
            .violations
            .iter()
            .map(|v| &v.r#type)
            .collect::<Vec<_>>()
    );
    if stocked {
        ensure!(
            failure.violations.iter().any(|v| v.subject == short
                && v.description.contains('3')
                && v.description.contains('1')),
            "the violation of {short} does not say \"requested 3, available 1\": {:?}",
            failure.violations
        );
        ensure!(
            stock_of(&mut c, &plenty).await? == (10, 0),
            "a failed reservation held units of the line that had enough"
        );
    }
    Ok(())
}

async fn reserve_invalid(mut c: Client) -> Checked {
    let p = product();
    let cases: Vec<(ReserveStockRequest, &str, &str)> = vec![
        (
            reserve_request(&unique("r"), &[], 60, ""),
            "lines",
            "no lines",
        ),
        (
            ReserveStockRequest {
                lines: (0..101)
                    .map(|i| ReservationLine {
                        product_id: format!("p{i}"),
                        quantity: 1,
                    })
                    .collect(),
                ..reserve_request(&unique("r"), &[], 60, "")
            },
            "lines",
            "101 lines",
        ),
        (
            reserve_request(&unique("r"), &[(&p, 1), (&p, 2)], 60, ""),
            "lines",
            "a product twice",
        ),
        (
            reserve_request(&unique("r"), &[(&p, 0)], 60, ""),
            "lines",
            "quantity 0",
        ),
        (
            reserve_request(&unique("r"), &[(&p, 10_001)], 60, ""),
            "lines",
            "quantity 10001",
        ),
        (
            reserve_request(&unique("r"), &[("Bad Id", 1)], 60, ""),
            "lines",
            "a malformed product_id",
        ),
        (
            reserve_request(&unique("r"), &[(&p, 1)], 3_601, ""),
            "ttl",
            "ttl of 1 hour and 1 second",
        ),
        (
            ReserveStockRequest {
                ttl: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 500_000_000,
                }),
                ..reserve_request(&unique("r"), &[(&p, 1)], 0, "")
            },
            "ttl",
            "ttl of half a second",
        ),
        (
            reserve_request(&unique("r"), &[(&p, 1)], 60, &repeat('x', 65)),
            "reference",
            "a reference of 65 characters",
        ),
        (
            reserve_request("bad id", &[(&p, 1)], 60, ""),
            "request_id",
            "a malformed request_id",
        ),
    ];
    for (request, field, what) in cases {
        let call = format!("ReserveStock({what})");
        let status = refused(c.reserve_stock(request).await, Code::InvalidArgument, &call)?;
        violation_within(&status, field, &call)?;
    }
    Ok(())
}

async fn reserved(c: &mut Client, target: &Target, units: i32) -> Checked<(String, Reservation)> {
    let p = product();
    restock(target, &p, 10).await?;
    let reservation =
        reserve_ok(c, reserve_request(&unique("res"), &[(&p, units)], 600, "")).await?;
    Ok((p, reservation))
}

async fn commit(mut c: Client, target: Target) -> Checked {
    let (p, reservation) = reserved(&mut c, &target, 4).await?;
    let id = reservation.id.clone();
    let committed = ok(
        c.commit_reservation(CommitReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        "CommitReservation",
    )?
    .reservation
    .unwrap_or_default();
    ensure!(
        committed.state() == ReservationState::Committed,
        "a committed reservation is {:?}",
        committed.state()
    );
    ensure!(
        stock_of(&mut c, &p).await? == (6, 0),
        "after committing 4 of 10, stock is {:?} (expected 6 available, 0 reserved)",
        stock_of(&mut c, &p).await?
    );
    let again = ok(
        c.commit_reservation(CommitReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        "CommitReservation again",
    )?
    .reservation
    .unwrap_or_default();
    ensure!(
        again == committed,
        "committing again changed the reservation: {again:?}"
    );
    ensure!(
        stock_of(&mut c, &p).await? == (6, 0),
        "committing again changed the stock"
    );
    let status = refused(
        c.release_reservation(ReleaseReservationRequest { reservation_id: id })
            .await,
        Code::FailedPrecondition,
        "ReleaseReservation(committed)",
    )?;
    reason(
        &status,
        "RESERVATION_COMMITTED",
        "ReleaseReservation(committed)",
    )?;
    ensure!(
        stock_of(&mut c, &p).await? == (6, 0),
        "a refused release changed the stock"
    );
    Ok(())
}

async fn release(mut c: Client, target: Target) -> Checked {
    let (p, reservation) = reserved(&mut c, &target, 4).await?;
    let id = reservation.id.clone();
    let released = ok(
        c.release_reservation(ReleaseReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        "ReleaseReservation",
    )?
    .reservation
    .unwrap_or_default();
    ensure!(
        released.state() == ReservationState::Released,
        "a released reservation is {:?}",
        released.state()
    );
    ensure!(
        released.expire_time == reservation.expire_time,
        "releasing changed expire_time"
    );
    ensure!(
        stock_of(&mut c, &p).await? == (10, 0),
        "after releasing 4 of 10, stock is {:?}",
        stock_of(&mut c, &p).await?
    );
    let again = ok(
        c.release_reservation(ReleaseReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        "ReleaseReservation again",
    )?
    .reservation
    .unwrap_or_default();
    ensure!(
        again == released,
        "releasing again changed the reservation: {again:?}"
    );
    ensure!(
        stock_of(&mut c, &p).await? == (10, 0),
        "releasing again changed the stock: {:?}",
        stock_of(&mut c, &p).await?
    );
    let status = refused(
        c.commit_reservation(CommitReservationRequest { reservation_id: id })
            .await,
        Code::FailedPrecondition,
        "CommitReservation(released)",
    )?;
    reason(
        &status,
        "RESERVATION_RELEASED",
        "CommitReservation(released)",
    )?;
    Ok(())
}

async fn expiry(mut c: Client, target: Target) -> Checked {
    let p = product();
    restock(&target, &p, 5).await?;
    let reservation =
        reserve_ok(&mut c, reserve_request(&unique("res"), &[(&p, 5)], 1, "")).await?;
    ensure!(
        stock_of(&mut c, &p).await? == (0, 5),
        "right after reserving, stock is {:?}",
        stock_of(&mut c, &p).await?
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let status = refused(
        c.commit_reservation(CommitReservationRequest {
            reservation_id: reservation.id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        "CommitReservation(expired)",
    )?;
    reason(&status, "RESERVATION_EXPIRED", "CommitReservation(expired)")?;
    // The units return by the service's own clock; give it a while.
    for _ in 0..150 {
        if stock_of(&mut c, &p).await? == (5, 0) {
            let got = ok(
                c.get_reservation(GetReservationRequest {
                    reservation_id: reservation.id.clone(),
                })
                .await,
                "GetReservation(expired)",
            )?
            .reservation
            .unwrap_or_default();
            ensure!(
                got.state() == ReservationState::Expired,
                "an expired reservation reads as {:?}",
                got.state()
            );
            ensure!(
                got.update_time == got.expire_time,
                "an EXPIRED reservation has update_time {:?} != expire_time {:?}",
                got.update_time,
                got.expire_time
            );
            let released = ok(
                c.release_reservation(ReleaseReservationRequest {
                    reservation_id: reservation.id,
                })
                .await,
                "ReleaseReservation(expired)",
            )?
            .reservation
            .unwrap_or_default();
            ensure!(
                released.state() == ReservationState::Expired,
                "releasing an EXPIRED reservation made it {:?}",
                released.state()
            );
            ensure!(
                stock_of(&mut c, &p).await? == (5, 0),
                "releasing an expired reservation changed the stock"
            );
            return Ok(());
        }
        pause(200).await;
    }
    fail(format!(
        "30 s after a 1 s reservation expired, stock is still {:?}",
        stock_of(&mut c, &p).await?
    ))
}

async fn reservation_errors(mut c: Client) -> Checked {
    invalid(
        c.get_reservation(GetReservationRequest::default()).await,
        "reservation_id",
        "GetReservation(\"\")",
    )?;
    invalid(
        c.commit_reservation(CommitReservationRequest::default())
            .await,
        "reservation_id",
        "CommitReservation(\"\")",
    )?;
    invalid(
        c.release_reservation(ReleaseReservationRequest::default())
            .await,
        "reservation_id",
        "ReleaseReservation(\"\")",
    )?;
    let id = unique("no-such-reservation");
    refused(
        c.get_reservation(GetReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        Code::NotFound,
        "GetReservation(unknown)",
    )?;
    refused(
        c.commit_reservation(CommitReservationRequest {
            reservation_id: id.clone(),
        })
        .await,
        Code::NotFound,
        "CommitReservation(unknown)",
    )?;
    refused(
        c.release_reservation(ReleaseReservationRequest { reservation_id: id })
            .await,
        Code::NotFound,
        "ReleaseReservation(unknown)",
    )?;
    Ok(())
}
