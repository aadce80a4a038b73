//! ReserveStock: units held all or nothing, in request order, idempotent on `request_id`;
//! short lines named one by one; malformed requests refused.

use bazaar_contract::inventory::v1::*;
use tonic::Code;
use tonic_types::StatusExt;

use super::{Client, product, stock_of};
use crate::check::{Checked, fail, ok, reason, refused, violation_within};
use crate::ensure;
use crate::shopper::restock;
use crate::suites::{from_now, repeat};
use crate::target::{Target, unique};

pub(super) fn lines(items: &[(&str, i32)]) -> Vec<ReservationLine> {
    items
        .iter()
        .map(|(p, q)| ReservationLine {
            product_id: (*p).to_owned(),
            quantity: *q,
        })
        .collect()
}

pub(super) fn reserve_request(
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

pub(super) async fn reserve_ok(
    c: &mut Client,
    request: ReserveStockRequest,
) -> Checked<Reservation> {
    let reservation = ok(c.reserve_stock(request).await, "ReserveStock")?.reservation;
    reservation.map_or_else(|| fail("ReserveStock answered without the reservation"), Ok)
}

pub(super) async fn reserve(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn reserve_idempotent(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn reserve_short(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn reserve_invalid(mut c: Client) -> Checked {
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
