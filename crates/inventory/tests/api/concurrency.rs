//! No oversell under concurrency: many reservers at once, each its own call on its own
//! connection, against a small stock; then commits, releases and new reservations racing
//! each other; then expiry racing new reservations. After each phase the books must
//! balance exactly. On SQLite, and on PostgreSQL when `BAZAAR_TEST_POSTGRES_URL` is set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::*;
use chassis::testing::on_postgres;
use tokio::sync::Barrier;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::*;

const STOCKED: i64 = 10;
const RESERVERS: usize = 50;

/// A small deterministic spread of numbers, so runs are reproducible.
fn pick(i: usize, salt: usize, n: usize) -> usize {
    (i.wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503))
        >> 7)
        % n
}

/// Runs `calls` at once, each on a connection of its own, released together by a barrier.
async fn all_at_once<T, F, Fut>(running: &Running, count: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, InventoryServiceClient<Channel>) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let client = running.new_client().await;
        let barrier = barrier.clone();
        let call = call(i, client);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call.await
        }));
    }
    let mut results = Vec::with_capacity(count);
    for task in tasks {
        results.push(task.await.expect("task finished"));
    }
    results
}

/// Reserves `lines` (with a fresh request id); a failure must be INSUFFICIENT_STOCK.
async fn try_reserve(
    mut client: InventoryServiceClient<Channel>,
    lines: Vec<(String, i32)>,
) -> Result<Reservation, Vec<(String, String, String)>> {
    let lines: Vec<(&str, i32)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
    match client.reserve_stock(reserve_request(&lines)).await {
        Ok(response) => Ok(response.into_inner().reservation.expect("a reservation")),
        Err(status) => {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            assert_eq!(error_info(&status).1, "INSUFFICIENT_STOCK");
            Err(shortages(&status))
        }
    }
}

fn units_of(reservations: &[&Reservation], product_id: &str) -> i64 {
    reservations
        .iter()
        .flat_map(|r| &r.lines)
        .filter(|l| l.product_id == product_id)
        .map(|l| i64::from(l.quantity))
        .sum()
}

/// The books of `product_id` balance: what ACTIVE reservations hold is what is reserved,
/// and available + reserved is what was stocked less what was sold.
async fn assert_books(running: &Running, product_id: &str, active: i64, sold: i64) {
    let stock = running.stock(product_id).await;
    assert!(stock.available >= 0 && stock.reserved >= 0, "{stock:?}");
    assert_eq!(stock.reserved, active, "reserved units of {product_id}");
    assert_eq!(
        stock.available + stock.reserved,
        STOCKED - sold,
        "units on hand of {product_id}"
    );
}

async fn oversell_is_impossible(running: &Running) {
    running.restock("hot", STOCKED as i32).await;

    // Phase 1: 50 reservers of 1..=3 units against 10.
    let wanted = |i: usize| (1 + pick(i, 1, 3)) as i32;
    let results = all_at_once(running, RESERVERS, |i, client| {
        try_reserve(client, vec![("hot".to_owned(), wanted(i))])
    })
    .await;
    let won: Vec<&Reservation> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let reserved = units_of(&won, "hot");
    assert!(!won.is_empty());
    assert!(reserved <= STOCKED);
    assert_books(running, "hot", reserved, 0).await;
    // Stock only went down in this phase, so every refusal was for more than is left now:
    // nothing was refused that could have been reserved.
    let left = STOCKED - reserved;
    for (i, result) in results.iter().enumerate() {
        if let Err(short) = result {
            assert!(
                i64::from(wanted(i)) > left,
                "reserver {i} refused needlessly"
            );
            assert_eq!(short.len(), 1);
            assert_eq!(short[0].1, "hot");
        }
    }

    // Phase 2: commits and releases of the winners (some twice at once, some racing each
    // other) while 20 new reservers compete for what is released.
    let ids: Vec<String> = won.iter().map(|r| r.id.clone()).collect();
    let settle_calls: Vec<(usize, bool)> = ids
        .iter()
        .enumerate()
        .flat_map(|(n, _)| match n % 4 {
            0 => [(n, true), (n, true)],
            1 => [(n, false), (n, false)],
            _ => [(n, true), (n, false)],
        })
        .collect();
    let settles = settle_calls.len();
    let outcomes = all_at_once(running, settles + 20, |i, mut client| {
        let call = settle_calls.get(i).copied();
        let id = call.map(|(n, _)| ids[n].clone()).unwrap_or_default();
        let quantity = wanted(i + 1000);
        async move {
            match call {
                Some((_, true)) => Phase2::Settled(
                    client
                        .commit_reservation(CommitReservationRequest { reservation_id: id })
                        .await
                        .map(|r| r.into_inner().reservation.unwrap()),
                ),
                Some((_, false)) => Phase2::Settled(
                    client
                        .release_reservation(ReleaseReservationRequest { reservation_id: id })
                        .await
                        .map(|r| r.into_inner().reservation.unwrap()),
                ),
                None => {
                    Phase2::Reserved(try_reserve(client, vec![("hot".to_owned(), quantity)]).await)
                }
            }
        }
    })
    .await;
    let mut final_state: HashMap<String, i32> = HashMap::new();
    let mut new_reservations = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Phase2::Settled(Ok(reservation)) => {
                let state = final_state
                    .entry(reservation.id.clone())
                    .or_insert(reservation.state);
                assert_eq!(*state, reservation.state, "both calls agree");
            }
            Phase2::Settled(Err(status)) => {
                let (n, _) = settle_calls[i];
                assert!(n % 4 >= 2, "only a racing pair has a loser: {status:?}");
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                let reason = error_info(&status).1;
                assert!(
                    reason == "RESERVATION_COMMITTED" || reason == "RESERVATION_RELEASED",
                    "{reason}"
                );
            }
            Phase2::Reserved(Ok(reservation)) => new_reservations.push(reservation),
            Phase2::Reserved(Err(_)) => {}
        }
    }
    assert_eq!(
        final_state.len(),
        ids.len(),
        "every reservation was settled"
    );
    let mut sold = 0;
    for reservation in &won {
        let state = final_state[&reservation.id];
        assert!(
            state == ReservationState::Committed as i32
                || state == ReservationState::Released as i32
        );
        let stored = running
            .client
            .clone()
            .get_reservation(GetReservationRequest {
                reservation_id: reservation.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .reservation
            .unwrap();
        assert_eq!(
            stored.state, state,
            "the winner's outcome is what is stored"
        );
        if state == ReservationState::Committed as i32 {
            sold += i64::from(reservation.lines[0].quantity);
        }
    }
    let new: Vec<&Reservation> = new_reservations.iter().collect();
    assert_books(running, "hot", units_of(&new, "hot"), sold).await;

    // Phase 3: every hold expires while 20 reservers want the units (and the sweeper runs).
    running.clock.advance(Duration::from_secs(15 * 60));
    let results = all_at_once(running, 20, |i, client| {
        try_reserve(client, vec![("hot".to_owned(), wanted(i + 2000))])
    })
    .await;
    let won: Vec<&Reservation> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(!won.is_empty());
    assert_books(running, "hot", units_of(&won, "hot"), sold).await;
    for reservation in &new {
        let status = running
            .client
            .clone()
            .commit_reservation(CommitReservationRequest {
                reservation_id: reservation.id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(error_info(&status).1, "RESERVATION_EXPIRED");
    }
    assert_books(running, "hot", units_of(&won, "hot"), sold).await;
}

enum Phase2 {
    Settled(Result<Reservation, tonic::Status>),
    Reserved(Result<Reservation, Vec<(String, String, String)>>),
}

/// Several products per reservation, listed in every order: each product's books balance
/// (so every reservation was whole or absent) and nothing deadlocked.
async fn multi_product_reservations_stay_whole(running: &Running) {
    let products = ["multi-a", "multi-b", "multi-c"];
    for product in products {
        running.restock(product, STOCKED as i32).await;
    }
    let lines = |i: usize| -> Vec<(String, i32)> {
        let first = pick(i, 2, 3);
        let count = 2 + pick(i, 3, 2);
        (0..count)
            .map(|k| {
                let product = products[(first + k * (1 + pick(i, 4, 2))) % 3];
                (product.to_owned(), (1 + pick(i, 5 + k, 3)) as i32)
            })
            .fold(Vec::new(), |mut acc: Vec<(String, i32)>, line| {
                if !acc.iter().any(|(p, _)| *p == line.0) {
                    acc.push(line);
                }
                acc
            })
    };
    let results = all_at_once(running, 40, |i, client| try_reserve(client, lines(i))).await;
    let won: Vec<&Reservation> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(!won.is_empty());
    for product in products {
        assert_books(running, product, units_of(&won, product), 0).await;
    }
}

/// The same request id sent many times at once makes one reservation.
async fn one_request_id_one_reservation(running: &Running) {
    running.restock("dup", STOCKED as i32).await;
    let request = reserve_request(&[("dup", 3)]);
    let results = all_at_once(running, 20, |_, mut client| {
        let request = request.clone();
        async move {
            client
                .reserve_stock(request)
                .await
                .expect("the same reservation")
                .into_inner()
                .reservation
                .unwrap()
        }
    })
    .await;
    assert!(results.iter().all(|r| r.id == results[0].id));
    assert_books(running, "dup", 3, 0).await;
}

async fn concurrency_holds(running: &Running) {
    oversell_is_impossible(running).await;
    multi_product_reservations_stay_whole(running).await;
    one_request_id_one_reservation(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_oversell_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_with(dir.path(), None, 20).await;
    running.wait_until_serving().await;
    concurrency_holds(&running).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_oversell_on_postgres() {
    on_postgres(
        "inventory::concurrency::no_oversell_on_postgres",
        async |url| {
            let dir = tempfile::tempdir().unwrap();
            let running = Running::start_with(dir.path(), Some(url), 20).await;
            running.wait_until_serving().await;
            concurrency_holds(&running).await;
            running.stop().await;
        },
    )
    .await;
}
