//! The one suite on every backend: a real SQLite file, and PostgreSQL when
//! `BAZAAR_TEST_POSTGRES_URL` is set; and quotes without a database.

use chassis::testing::{on_postgres, unreachable_postgres_url};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::quotes::*;
use crate::shipments::*;
use crate::support::*;

/// Everything the contract promises, run against whichever backend `running` uses.
async fn contract_holds(running: &Running) {
    quotes_follow_the_formula(running).await;
    bad_quote_input_names_its_field(running).await;
    shipments_are_created_and_read(running).await;
    create_is_idempotent(running).await;
    cancel_is_idempotent(running).await;
    bad_shipment_input_names_its_field(running).await;
}

#[tokio::test]
async fn contract_holds_on_sqlite_and_shipments_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    let mut client = running.client.clone();
    let kept = create(&mut client, create_request("restart", "restart"))
        .await
        .unwrap();
    running.stop().await;
    assert!(dir.path().join("shipping.db").exists());

    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    let mut client = running.client.clone();
    assert_eq!(get(&mut client, &kept.id).await.unwrap(), kept);
    assert_eq!(
        create(&mut client, create_request("restart", "restart"))
            .await
            .unwrap(),
        kept
    );
    running.stop().await;
}

#[tokio::test]
async fn contract_holds_on_postgres() {
    on_postgres("shipping::contract_holds_on_postgres", async |url| {
        let dir = tempfile::tempdir().unwrap();
        let running = Running::start(dir.path(), Some(url)).await;
        running.wait_until_serving().await;
        contract_holds(&running).await;
        running.stop().await;
    })
    .await;
}

#[tokio::test]
async fn quotes_need_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(unreachable_postgres_url())).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let mut client = running.client.clone();
    // The storefront's estimates keep working ...
    let estimate = quote(&mut client, Some(address("US")), items(&[2]))
        .await
        .unwrap();
    assert_eq!(estimate.cost, Some(usd(6, 970_000_000)));
    // ... while what needs the store says to come back later.
    let status = get(&mut client, "sh_x").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let status = create(&mut client, create_request("r", "o"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    running.stop().await;
}
