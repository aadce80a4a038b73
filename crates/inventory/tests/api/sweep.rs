//! The sweeper's work, checked on the store itself: overdue reservations become EXPIRED
//! in the database (not only in what reads show) and give their units back to the
//! counts; failed ReserveStock calls are forgotten after a day. On SQLite, and on
//! PostgreSQL when `BAZAAR_TEST_POSTGRES_URL` is set.

use chassis::store::Backend;
use chassis::testing::on_postgres;
use inventory::domain::{
    ProductId, ReservationId, ReservationState, ReserveRequest, RestockRequest, TtlField,
};
use inventory::error::InventoryError;
use inventory::store::{InventoryStore, MIGRATIONS};

const MINUTE: i64 = 60_000;

async fn open(url: &str) -> InventoryStore {
    let pool = chassis::store::open(url, &MIGRATIONS)
        .await
        .expect("store opens");
    InventoryStore::new(pool, Backend::of(url).unwrap())
}

fn reserve_request(request_id: &str, lines: &[(&str, i32)], ttl_secs: i64) -> ReserveRequest {
    let lines: Vec<(String, i32)> = lines.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect();
    ReserveRequest::parse(
        request_id,
        &lines,
        Some(TtlField {
            seconds: ttl_secs,
            nanos: 0,
        }),
        "",
    )
    .expect("a valid request")
}

async fn level(store: &InventoryStore, product: &str, now: i64) -> (i64, i64) {
    let id = ProductId::parse(product).unwrap();
    let level = store
        .stock_levels(&[id], now)
        .await
        .unwrap()
        .remove(product)
        .unwrap();
    (level.available, level.reserved)
}

async fn sweeping_marks_and_forgets(store: &InventoryStore) {
    let t0 = 1_000_000_000_000;
    let restock = RestockRequest::parse("r1", "swept", 10).unwrap();
    store.restock(&restock, t0).await.unwrap();
    let short = reserve_request("short", &[("swept", 4), ("nothing-here", 1)], 60);
    let held = reserve_request("held", &[("swept", 4)], 60);
    let long = reserve_request("long", &[("swept", 3)], 3600);
    let new_id = || ReservationId::generate().unwrap();
    assert!(matches!(
        store.reserve(&short, &new_id(), t0).await,
        Err(InventoryError::InsufficientStock(_))
    ));
    let held = store.reserve(&held, &new_id(), t0).await.unwrap();
    let long = store.reserve(&long, &new_id(), t0).await.unwrap();
    assert_eq!(level(store, "swept", t0).await, (3, 7));

    // Nothing is overdue yet.
    assert_eq!(store.sweep(t0 + MINUTE - 1).await.unwrap(), 0);
    // Read just before its expiry, a reservation the sweeper did not touch is still active.
    let before = t0 + MINUTE - 1;
    assert_eq!(
        store
            .reservation(&held.id, before)
            .await
            .unwrap()
            .unwrap()
            .state,
        ReservationState::Active
    );

    assert_eq!(store.sweep(t0 + MINUTE).await.unwrap(), 1);
    // Now the store itself says EXPIRED, even to a read "before" the expiry, and the
    // counts no longer include its units.
    let swept = store.reservation(&held.id, before).await.unwrap().unwrap();
    assert_eq!(swept.state, ReservationState::Expired);
    assert_eq!(swept.update_ms, swept.expire_ms);
    assert_eq!(level(store, "swept", before).await, (7, 3));
    assert_eq!(
        store
            .reservation(&long.id, before)
            .await
            .unwrap()
            .unwrap()
            .state,
        ReservationState::Active
    );
    // Sweeping again changes nothing.
    assert_eq!(store.sweep(t0 + MINUTE).await.unwrap(), 0);
    assert_eq!(level(store, "swept", t0 + MINUTE).await, (7, 3));

    // The failed call is remembered for a day, then forgotten: a retry is a new call.
    let retry = reserve_request("short", &[("swept", 4), ("nothing-here", 1)], 60);
    let day = 24 * 60 * MINUTE;
    store.sweep(t0 + day - 1).await.unwrap();
    assert!(matches!(
        store.reserve(&retry, &new_id(), t0 + day - 1).await,
        Err(InventoryError::InsufficientStock(_))
    ));
    store
        .restock(&RestockRequest::parse("r2", "nothing-here", 1).unwrap(), t0)
        .await
        .unwrap();
    assert!(matches!(
        store.reserve(&retry, &new_id(), t0 + day - 1).await,
        Err(InventoryError::InsufficientStock(_))
    ));
    store.sweep(t0 + day + 1).await.unwrap();
    let reserved = store
        .reserve(&retry, &new_id(), t0 + day + 1)
        .await
        .unwrap();
    assert_eq!(reserved.state, ReservationState::Active);
}

#[tokio::test]
async fn sweeping_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&chassis::store::sqlite_url(dir.path(), "inventory.db")).await;
    sweeping_marks_and_forgets(&store).await;
    store.pool().close().await;
}

#[tokio::test]
async fn sweeping_on_postgres() {
    on_postgres("inventory::sweep::sweeping_on_postgres", async |url| {
        let store = open(&url).await;
        sweeping_marks_and_forgets(&store).await;
        store.pool().close().await;
    })
    .await;
}
