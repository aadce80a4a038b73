//! AddItem request ids, and concurrent changes to one cart.

use std::time::Duration;

use tonic::Code;

use crate::calls::*;
use crate::support::Running;

pub(crate) async fn request_ids_make_add_item_idempotent(running: &Running) {
    let mut client = running.client.clone();
    let alice = running.user("idem-alice");

    let first = add(&mut client, &alice, "req-1", "canvas-tote-bag", 2).await;
    let retry = add(&mut client, &alice, "req-1", "canvas-tote-bag", 2).await;
    assert_eq!(retry, first, "a retry replays the first result");
    assert_eq!(
        items(&get(&mut client, &alice).await),
        pairs(&[("canvas-tote-bag", 2)])
    );

    // After other changes a retry still returns the cart as it was right after the call.
    add(&mut client, &alice, "req-2", "leather-journal", 1).await;
    let retry = add(&mut client, &alice, "req-1", "canvas-tote-bag", 2).await;
    assert_eq!(retry, first);

    // The same id with other parameters is refused.
    for (product, quantity) in [("canvas-tote-bag", 3), ("leather-journal", 2)] {
        let status = try_add(&mut client, &alice, "req-1", product, quantity)
            .await
            .unwrap_err();
        assert_reason(&status, Code::AlreadyExists, "REQUEST_ID_REUSED");
    }

    // Ids are scoped to the caller.
    let bob = running.user("idem-bob");
    let cart = add(&mut client, &bob, "req-1", "leather-journal", 7).await;
    assert_eq!(items(&cart), pairs(&[("leather-journal", 7)]));

    // A refusal is remembered too, even once the cart would allow the call.
    set(&mut client, &alice, "canvas-tote-bag", 99).await;
    let status = try_add(&mut client, &alice, "req-3", "canvas-tote-bag", 1)
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "LINE_QUANTITY_LIMIT");
    set(&mut client, &alice, "canvas-tote-bag", 1).await;
    let status = try_add(&mut client, &alice, "req-3", "canvas-tote-bag", 1)
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "LINE_QUANTITY_LIMIT");

    // Ids are remembered for 24 hours, then forgotten.
    running.clock.advance(Duration::from_secs(23 * 3600));
    let status = try_add(&mut client, &alice, "req-1", "canvas-tote-bag", 5)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    running.clock.advance(Duration::from_secs(2 * 3600));
    let cart = add(&mut client, &alice, "req-1", "canvas-tote-bag", 5).await;
    assert_eq!(cart.items[0].quantity, 6);
}

pub(crate) async fn concurrent_changes_are_not_lost(running: &Running) {
    let alice = running.user("race-alice");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let mut client = running.client.clone();
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            // Two calls per id: each id adds once. A call the server's limit refuses is
            // sent again after its pushback, as the chassis's client does: a refusal is
            // made before anything is done.
            let id = format!("race-{}", i % 8);
            let mut attempts = 0;
            loop {
                match try_add(&mut client, &alice, &id, "lamp", 1).await {
                    Err(status) if status.code() == Code::ResourceExhausted && attempts < 50 => {
                        attempts += 1;
                        let pushback = status
                            .metadata()
                            .get("grpc-retry-pushback-ms")
                            .and_then(|value| value.to_str().ok()?.parse().ok())
                            .unwrap_or(10);
                        tokio::time::sleep(Duration::from_millis(pushback)).await;
                    }
                    outcome => break outcome,
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("AddItem under contention");
    }
    let mut client = running.client.clone();
    assert_eq!(
        items(&get(&mut client, &alice).await),
        pairs(&[("lamp", 8)])
    );
}
