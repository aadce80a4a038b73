//! Reservations through the contract: all or nothing, once per request id, commit and
//! release with their idempotency and preconditions, and expiry under a clock the test
//! moves. On SQLite, and on PostgreSQL when `BAZAAR_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use bazaar_contract::inventory::v1::*;
use chassis::testing::on_postgres;
use tonic::Code;

use crate::support::*;

const ACTIVE: i32 = ReservationState::Active as i32;
const COMMITTED: i32 = ReservationState::Committed as i32;
const RELEASED: i32 = ReservationState::Released as i32;
const EXPIRED: i32 = ReservationState::Expired as i32;

fn ms(time: &Option<prost_types::Timestamp>) -> i64 {
    let time = time.as_ref().expect("a timestamp");
    time.seconds * 1000 + i64::from(time.nanos) / 1_000_000
}

async fn reserve(running: &Running, request: ReserveStockRequest) -> Reservation {
    running
        .client
        .clone()
        .reserve_stock(request)
        .await
        .expect("reserve")
        .into_inner()
        .reservation
        .expect("a reservation")
}

async fn get(running: &Running, id: &str) -> Reservation {
    running
        .client
        .clone()
        .get_reservation(GetReservationRequest {
            reservation_id: id.to_owned(),
        })
        .await
        .expect("get reservation")
        .into_inner()
        .reservation
        .unwrap()
}

async fn commit(running: &Running, id: &str) -> Result<Reservation, tonic::Status> {
    running
        .client
        .clone()
        .commit_reservation(CommitReservationRequest {
            reservation_id: id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().reservation.unwrap())
}

async fn release(running: &Running, id: &str) -> Result<Reservation, tonic::Status> {
    running
        .client
        .clone()
        .release_reservation(ReleaseReservationRequest {
            reservation_id: id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().reservation.unwrap())
}

fn assert_reason(status: &tonic::Status, code: Code, reason: &str) {
    chassis::testing::assert_reason(status, code, "bazaar.inventory", reason);
}

/// One short line and nothing is reserved; the error names every short line.
async fn all_or_nothing(running: &Running) {
    running.restock("aon-a", 5).await;
    running.restock("aon-b", 2).await;
    let mut request = reserve_request(&[("aon-a", 3), ("aon-c", 1), ("aon-b", 3)]);
    let status = running
        .client
        .clone()
        .reserve_stock(request.clone())
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "INSUFFICIENT_STOCK");
    let expected = vec![
        (
            "STOCK".to_owned(),
            "aon-c".to_owned(),
            "requested 1, available 0".to_owned(),
        ),
        (
            "STOCK".to_owned(),
            "aon-b".to_owned(),
            "requested 3, available 2".to_owned(),
        ),
    ];
    assert_eq!(shortages(&status), expected);
    assert_eq!(counts(&running.stock("aon-a").await), (5, 0));
    assert_eq!(counts(&running.stock("aon-b").await), (2, 0));

    // A retry of the failed call gets the first call's error, even once stock is there.
    running.restock("aon-b", 10).await;
    running.restock("aon-c", 10).await;
    let status = running
        .client
        .clone()
        .reserve_stock(request.clone())
        .await
        .unwrap_err();
    assert_eq!(shortages(&status), expected);
    request.lines[0].quantity = 1;
    let status = running
        .client
        .clone()
        .reserve_stock(request)
        .await
        .unwrap_err();
    assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");

    // With enough of everything, every line is reserved, in the request's order.
    let mut request = reserve_request(&[("aon-b", 12), ("aon-a", 5)]);
    request.reference = "order-42".to_owned();
    let reservation = reserve(running, request).await;
    assert_eq!(reservation.state, ACTIVE);
    assert!(reservation.id.starts_with("rsv-") && reservation.id.len() <= 64);
    let lines: Vec<_> = reservation
        .lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.quantity))
        .collect();
    assert_eq!(lines, [("aon-b", 12), ("aon-a", 5)]);
    assert_eq!(reservation.reference, "order-42");
    let created = ms(&reservation.create_time);
    assert_eq!(created, running.clock_ms());
    assert_eq!(ms(&reservation.update_time), created);
    assert_eq!(ms(&reservation.expire_time), created + 15 * 60 * 1000);
    assert_eq!(counts(&running.stock("aon-a").await), (0, 5));
    assert_eq!(counts(&running.stock("aon-b").await), (0, 12));
    assert_eq!(get(running, &reservation.id).await, reservation);

    let status = running
        .client
        .clone()
        .reserve_stock(reserve_request(&[("aon-a", 1)]))
        .await
        .unwrap_err();
    assert_eq!(
        shortages(&status),
        [(
            "STOCK".to_owned(),
            "aon-a".to_owned(),
            "requested 1, available 0".to_owned()
        )]
    );
}

/// A retry with the same request id returns the same reservation, in its current state.
async fn request_ids_make_reserving_idempotent(running: &Running) {
    running.restock("idem", 10).await;
    let mut request = reserve_request(&[("idem", 4)]);
    request.ttl = Some(prost_types::Duration {
        seconds: 600,
        nanos: 0,
    });
    let first = reserve(running, request.clone()).await;
    let again = reserve(running, request.clone()).await;
    assert_eq!(again, first);
    assert_eq!(counts(&running.stock("idem").await), (6, 4));

    for changed in [
        ReserveStockRequest {
            reference: "other".to_owned(),
            ..request.clone()
        },
        ReserveStockRequest {
            ttl: None,
            ..request.clone()
        },
        ReserveStockRequest {
            lines: vec![ReservationLine {
                product_id: "idem".to_owned(),
                quantity: 5,
            }],
            ..request.clone()
        },
    ] {
        let status = running
            .client
            .clone()
            .reserve_stock(changed)
            .await
            .unwrap_err();
        assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");
    }
    commit(running, &first.id).await.expect("commit");
    let after = reserve(running, request).await;
    assert_eq!(after.id, first.id);
    assert_eq!(after.state, COMMITTED);
    assert_eq!(counts(&running.stock("idem").await), (6, 0));
}

/// Commit and release, each idempotent, each refusing what the other did.
async fn commit_and_release(running: &Running) {
    running.restock("settle", 10).await;
    let sold = reserve(running, reserve_request(&[("settle", 4)])).await;
    assert_eq!(counts(&running.stock("settle").await), (6, 4));
    running.clock.advance(Duration::from_secs(5));
    let committed = commit(running, &sold.id).await.expect("commit");
    assert_eq!(committed.state, COMMITTED);
    assert_eq!(ms(&committed.update_time), running.clock_ms());
    assert_eq!(committed.create_time, sold.create_time);
    assert_eq!(committed.expire_time, sold.expire_time);
    // The units left stock for good: 6 on hand, none reserved.
    assert_eq!(counts(&running.stock("settle").await), (6, 0));
    running.clock.advance(Duration::from_secs(5));
    assert_eq!(commit(running, &sold.id).await.unwrap(), committed);
    let status = release(running, &sold.id).await.unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "RESERVATION_COMMITTED");
    assert_eq!(get(running, &sold.id).await, committed);
    assert_eq!(counts(&running.stock("settle").await), (6, 0));

    let given_back = reserve(running, reserve_request(&[("settle", 3)])).await;
    assert_eq!(counts(&running.stock("settle").await), (3, 3));
    let released = release(running, &given_back.id).await.expect("release");
    assert_eq!(released.state, RELEASED);
    assert_eq!(counts(&running.stock("settle").await), (6, 0));
    assert_eq!(release(running, &given_back.id).await.unwrap(), released);
    let status = commit(running, &given_back.id).await.unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "RESERVATION_RELEASED");
    assert_eq!(counts(&running.stock("settle").await), (6, 0));
}

/// Expiry under the test clock: units come back, commit fails, the state reads EXPIRED.
async fn reservations_expire(running: &Running) {
    running.restock("ephemeral", 5).await;
    let mut request = reserve_request(&[("ephemeral", 4)]);
    request.ttl = Some(prost_types::Duration {
        seconds: 60,
        nanos: 0,
    });
    let held = reserve(running, request).await;
    assert_eq!(ms(&held.expire_time), ms(&held.create_time) + 60_000);
    running.clock.advance(Duration::from_millis(59_999));
    assert_eq!(get(running, &held.id).await.state, ACTIVE);
    assert_eq!(counts(&running.stock("ephemeral").await), (1, 4));
    running.clock.advance(Duration::from_millis(1));
    // Expired at its expiry time, whether or not the sweeper has run yet.
    let expired = get(running, &held.id).await;
    assert_eq!(expired.state, EXPIRED);
    assert_eq!(expired.update_time, expired.expire_time);
    assert_eq!(counts(&running.stock("ephemeral").await), (5, 0));
    let status = commit(running, &held.id).await.unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "RESERVATION_EXPIRED");
    assert_eq!(release(running, &held.id).await.unwrap(), expired);
    assert_eq!(counts(&running.stock("ephemeral").await), (5, 0));
    // The units are reservable again, all of them.
    let next = reserve(running, reserve_request(&[("ephemeral", 5)])).await;
    assert_eq!(counts(&running.stock("ephemeral").await), (0, 5));
    assert_eq!(get(running, &held.id).await, expired);

    // The default ttl is 15 minutes; a commit just before it succeeds.
    running.clock.advance(Duration::from_secs(15 * 60 - 1));
    assert_eq!(commit(running, &next.id).await.unwrap().state, COMMITTED);
    assert_eq!(counts(&running.stock("ephemeral").await), (0, 0));

    // Expired reservations holding several products free all of them, and a reserve that
    // needs them right at expiry gets them.
    running.restock("ephemeral", 2).await;
    running.restock("ephemeral-b", 3).await;
    let both = reserve(
        running,
        reserve_request(&[("ephemeral", 2), ("ephemeral-b", 3)]),
    )
    .await;
    running.clock.advance(Duration::from_secs(15 * 60));
    let again = reserve(running, reserve_request(&[("ephemeral-b", 3)])).await;
    assert_eq!(counts(&running.stock("ephemeral").await), (2, 0));
    assert_eq!(counts(&running.stock("ephemeral-b").await), (0, 3));
    assert_eq!(get(running, &both.id).await.state, EXPIRED);
    assert_eq!(get(running, &again.id).await.state, ACTIVE);
}

async fn reservations_behave(running: &Running) {
    all_or_nothing(running).await;
    request_ids_make_reserving_idempotent(running).await;
    commit_and_release(running).await;
    reservations_expire(running).await;
}

#[tokio::test]
async fn reservations_behave_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    reservations_behave(&running).await;
    running.stop().await;
}

#[tokio::test]
async fn reservations_behave_on_postgres() {
    on_postgres(
        "inventory::reservations::reservations_behave_on_postgres",
        async |url| {
            let dir = tempfile::tempdir().unwrap();
            let running = Running::start(dir.path(), Some(url)).await;
            running.wait_until_serving().await;
            reservations_behave(&running).await;
            running.stop().await;
        },
    )
    .await;
}
