//! The one suite on every backend: a real SQLite file, and PostgreSQL when
//! `BAZAAR_TEST_POSTGRES_URL` is set; and a database that is not there.

use bazaar_contract::payment::v1::GetChargeRequest;
use chassis::testing::{on_postgres, unreachable_postgres_url};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::charges::*;
use crate::idempotency::*;
use crate::ledger::*;
use crate::refunds::*;
use crate::support::Running;

/// Everything the contract promises, run against whichever backend `running` uses.
async fn contract_holds(running: &Running) {
    test_cards_succeed_decline_or_fail(running).await;
    bad_input_names_its_field(running).await;
    retries_replay_the_first_result(running).await;
    an_order_is_paid_at_most_once(running).await;
    concurrent_identical_charges_charge_once(running).await;
    concurrent_charges_of_one_order_pay_once(running).await;
    a_call_in_flight_is_aborted_then_taken_over(running).await;
    refunds_happen_once(running).await;
    only_succeeded_charges_are_refundable(running).await;
    get_charge_finds_or_refuses(running).await;
    the_ledger_pages_newest_first(running).await;
    expiry_follows_the_services_clock(running).await;
}

#[tokio::test]
async fn contract_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    assert!(dir.path().join("payment.db").exists());
}

#[tokio::test]
async fn contract_holds_on_postgres() {
    on_postgres("payment::contract_holds_on_postgres", async |url| {
        let dir = tempfile::tempdir().unwrap();
        let running = Running::start(dir.path(), Some(url)).await;
        running.wait_until_serving().await;
        contract_holds(&running).await;
        running.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_means_not_serving_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(unreachable_postgres_url())).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let status = running
        .client
        .clone()
        .get_charge(GetChargeRequest {
            charge_id: "ch_x".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    running.stop().await;
}

#[tokio::test]
async fn a_locked_store_means_not_serving_until_it_is_released() {
    use chassis::testing::eventually;
    use sqlx::Executor;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    // Another process takes the write lock of the file and keeps it.
    let other = chassis::store::connect(&running.database_url)
        .await
        .unwrap();
    let mut holder = other.acquire().await.unwrap();
    (&mut *holder).execute("BEGIN EXCLUSIVE").await.unwrap();
    let patience = Duration::from_secs(30);
    assert!(
        eventually(patience, async || running.health().await
            == ServingStatus::NotServing)
        .await,
        "health stays SERVING while the store cannot take a write"
    );
    (&mut *holder).execute("ROLLBACK").await.unwrap();
    assert!(
        eventually(patience, async || running.health().await
            == ServingStatus::Serving)
        .await,
        "health does not come back once the lock is released"
    );
    drop(holder);
    other.close().await;
    running.stop().await;
}
