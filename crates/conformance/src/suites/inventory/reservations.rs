//! What becomes of a reservation: CommitReservation removes its units for good,
//! ReleaseReservation returns them, expiry returns them too; each end is final.

use std::time::Duration;

use bazaar_contract::inventory::v1::*;
use tonic::Code;

use super::reserve_stock::reserve_ok;
use super::reserve_stock::reserve_request;
use super::{Client, product, stock_of};
use crate::check::{Checked, fail, invalid, ok, reason, refused};
use crate::ensure;
use crate::shopper::restock;
use crate::suites::pause;
use crate::target::{Target, unique};

async fn reserved(c: &mut Client, target: &Target, units: i32) -> Checked<(String, Reservation)> {
    let p = product();
    restock(target, &p, 10).await?;
    let reservation =
        reserve_ok(c, reserve_request(&unique("res"), &[(&p, units)], 600, "")).await?;
    Ok((p, reservation))
}

pub(super) async fn commit(mut c: Client, target: Target) -> Checked {
    let (p, reservation) = reserved(&mut c, &target, 4).await?;
    let id = reservation.id.clone();
    let committed = commit_ok(&mut c, &id, "CommitReservation").await?;
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
    let again = commit_ok(&mut c, &id, "CommitReservation again").await?;
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

pub(super) async fn release(mut c: Client, target: Target) -> Checked {
    let (p, reservation) = reserved(&mut c, &target, 4).await?;
    let id = reservation.id.clone();
    let released = release_ok(&mut c, &id, "ReleaseReservation").await?;
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
    let again = release_ok(&mut c, &id, "ReleaseReservation again").await?;
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

pub(super) async fn expiry(mut c: Client, target: Target) -> Checked {
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
            let released =
                release_ok(&mut c, &reservation.id, "ReleaseReservation(expired)").await?;
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

pub(super) async fn reservation_errors(mut c: Client) -> Checked {
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

/// Commits reservation `id` and returns it as the answer carries it.
async fn commit_ok(c: &mut Client, id: &str, call: &str) -> Checked<Reservation> {
    Ok(ok(
        c.commit_reservation(CommitReservationRequest {
            reservation_id: id.to_owned(),
        })
        .await,
        call,
    )?
    .reservation
    .unwrap_or_default())
}

/// Releases reservation `id` and returns it as the answer carries it.
async fn release_ok(c: &mut Client, id: &str, call: &str) -> Checked<Reservation> {
    Ok(ok(
        c.release_reservation(ReleaseReservationRequest {
            reservation_id: id.to_owned(),
        })
        .await,
        call,
    )?
    .reservation
    .unwrap_or_default())
}
