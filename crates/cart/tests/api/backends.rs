//! The one suite on every backend: a real SQLite file, and PostgreSQL
//! (`BAZAAR_TEST_POSTGRES_URL`) and Redis (`BAZAAR_TEST_REDIS_URL`) when they are set; and
//! what the cart does while its store is not there yet, or cannot be.

use std::time::Duration;

use bazaar_contract::cart::v1::GetCartRequest;
use chassis::testing::on_postgres;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::callers::*;
use crate::changes::*;
use crate::idempotency::*;
use crate::support::{self, RedisKeys, Running, authed};

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
    on_postgres("contract_holds_on_postgres", async |url| {
        let dir = tempfile::tempdir().unwrap();
        let running = Running::start(dir.path(), Some(url), "unused:").await;
        running.wait_until_serving().await;
        contract_holds(&running).await;
        running.stop().await;
    })
    .await;
}

/// AddItem records past their retention are deleted by the background sweep, whoever
/// they belong to; younger ones stay. Counted in the store itself, at `url`.
async fn expired_request_ids_are_swept(running: &Running, url: &str) {
    let pool = chassis::store::open(url, &cart::store::MIGRATIONS)
        .await
        .expect("the cart's store opens");
    let count = async |request_id: &str| -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM add_item_requests WHERE request_id = $1")
            .bind(request_id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let mut client = running.client.clone();
    let alice = running.user("sweep-alice");
    let bob = running.user("sweep-bob");
    crate::calls::add(&mut client, &alice, "sweep-old-1", "lamp", 1).await;
    crate::calls::add(&mut client, &alice, "sweep-old-2", "mug", 1).await;
    running.clock.advance(Duration::from_secs(23 * 3600));
    crate::calls::add(&mut client, &bob, "sweep-young", "lamp", 1).await;
    assert_eq!(count("sweep-old-1").await, 1, "kept within the retention");

    // Alice never comes back: her records go all the same once 24 hours have passed.
    running.clock.advance(Duration::from_secs(2 * 3600));
    let swept = chassis::testing::eventually(Duration::from_secs(20), async || {
        count("sweep-old-1").await + count("sweep-old-2").await == 0
    })
    .await;
    assert!(swept, "expired records are still in the store");
    assert_eq!(
        count("sweep-young").await,
        1,
        "a record within its retention stays"
    );
    pool.close().await;
}

#[tokio::test]
async fn expired_request_ids_are_swept_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None, "unused:").await;
    running.wait_until_serving().await;
    let url = format!("sqlite://{}", dir.path().join("cart.db").display());
    expired_request_ids_are_swept(&running, &url).await;
    running.stop().await;
}

#[tokio::test]
async fn expired_request_ids_are_swept_on_postgres() {
    on_postgres("expired_request_ids_are_swept_on_postgres", async |url| {
        let dir = tempfile::tempdir().unwrap();
        let running = Running::start(dir.path(), Some(url.clone()), "unused:").await;
        running.wait_until_serving().await;
        expired_request_ids_are_swept(&running, &url).await;
        running.stop().await;
    })
    .await;
}

#[tokio::test]
async fn contract_holds_on_redis() {
    let Ok(url) = std::env::var(support::REDIS_URL_VAR) else {
        support::skipped("contract_holds_on_redis");
        return;
    };
    let keys = RedisKeys::new(&url, "contract");
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(url.clone()), &keys.prefix).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    // The carts and the remembered request ids went to Redis, under the prefix, and the
    // request ids expire on their own.
    let written = keys.list();
    assert!(written.len() > 10, "{written:?}");
    let request_key = written
        .iter()
        .find(|k| k.contains("add-item:"))
        .expect("a remembered request id");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(request_key)
        .query(&mut connection)
        .unwrap();
    assert!(ttl_ms > 0, "{request_key} has no expiry");
    assert!(
        ttl_ms <= 86_400_000,
        "{request_key} is kept longer than the retention"
    );
    keys.delete();
    assert!(keys.list().is_empty());
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

#[tokio::test]
async fn a_redis_that_comes_up_later_is_used_once_it_answers() {
    let Ok(url) = std::env::var(support::REDIS_URL_VAR) else {
        support::skipped("a_redis_that_comes_up_later_is_used_once_it_answers");
        return;
    };
    let keys = RedisKeys::new(&url, "later");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (redis_address, via) =
        support::redis_url_via(&url, &listener.local_addr().unwrap().to_string());
    let redis = support::Gate::start(listener, redis_address);
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(via), &keys.prefix).await;
    let mut client = running.client.clone();
    let alice = running.user("later-alice");

    // More attempts than one connection try makes (one retry of its own): the cart
    // keeps trying, and meanwhile it is not serving.
    for _ in 0..500 {
        if redis.attempts() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(redis.attempts() >= 3, "the cart stopped trying");
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let status = client
        .get_cart(authed(&alice, GetCartRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    // Redis is up: the cart serves from it.
    redis.open();
    running.wait_until_serving().await;
    let cart = crate::calls::add(&mut client, &alice, "r1", "lamp", 2).await;
    assert_eq!(cart.items.len(), 1);
    assert!(!keys.list().is_empty(), "the cart is in Redis");
    running.stop().await;
}

#[tokio::test]
async fn a_store_url_of_no_known_store_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://localhost/cart", "redis://127.0.0.1:notaport"] {
        let Err(error) = Running::try_start(dir.path(), Some(url.to_owned()), "x:").await else {
            panic!("{url}: the cart started");
        };
        assert!(
            matches!(
                &error,
                chassis::service::StartError::Build { source, .. }
                    if source.is::<cart::store::BadStoreUrl>()
            ),
            "{url}: {error:?}"
        );
    }
}
