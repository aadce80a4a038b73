//! The cart through its contract only: real gRPC on a real socket, against a real SQLite
//! file, and the same suite against PostgreSQL (`BAZAAR_TEST_POSTGRES_URL`) and Redis
//! (`BAZAAR_TEST_REDIS_URL`) when they are set.

mod suite;
mod support;

use bazaar_contract::cart::v1::GetCartRequest;
use chassis::store::testing::TempPostgres;
use suite::callers::*;
use suite::changes::*;
use suite::idempotency::*;
use support::{Running, authed};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// Everything the contract promises, run against whichever backend `running` uses.
async fn contract_holds(running: &Running) {
    basic_changes(running).await;
    request_ids_make_add_item_idempotent(running).await;
    bad_input_names_its_field(running).await;
    limits_hold(running).await;
    etag_guards_empty_cart(running).await;
    guest_carts_merge(running).await;
    callers_see_only_their_own_cart(running).await;
    concurrent_changes_are_not_lost(running).await;
    bad_tokens_are_refused_on_every_rpc(running).await;
}

#[tokio::test]
async fn contract_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None, "unused:").await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    assert!(dir.path().join("cart.db").exists());
}

#[tokio::test]
async fn contract_holds_on_postgres() {
    let Some(database) = TempPostgres::create("contract_holds_on_postgres")
        .await
        .expect("postgres reachable")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(database.url.clone()), "unused:").await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    database.drop_database().await.expect("drop database");
}

#[tokio::test]
async fn contract_holds_on_redis() {
    let Ok(url) = std::env::var(support::REDIS_URL_VAR) else {
        support::skipped("contract_holds_on_redis");
        return;
    };
    let prefix = support::unique_prefix("contract");
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(url.clone()), &prefix).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    // The carts and the remembered request ids went to Redis, under the prefix.
    assert!(support::count_redis_keys(&url, &prefix).await > 10);
    support::delete_redis_keys(&url, &prefix).await;
    assert_eq!(support::count_redis_keys(&url, &prefix).await, 0);
}

#[tokio::test]
async fn an_unreachable_store_means_not_serving() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let running = Running::start(dir.path(), Some("redis://127.0.0.1:1".to_owned()), "x:").await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let mut client = running.client.clone();
    let alice = running.user("alice");
    let status = client
        .get_cart(authed(&alice, GetCartRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    running.stop().await;
}
