//! StreamOrderEvents: every final state change once, in sequence order, from any position,
//! live, again after a reconnect (at least once), and a clean end on shutdown.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::orders::v1::*;
use bazaar_doubles::payment::DECLINED_CARD;
use chassis::testing::assert_invalid_argument;
use orders::clock::SystemClock;
use tonic::Code;

use crate::support::*;

/// The next `count` events after `after`, read from a fresh stream (no token: internal).
pub(crate) async fn read_events(world: &World, after: i64, count: usize) -> Vec<OrderEvent> {
    let mut stream = world
        .client()
        .stream_order_events(StreamOrderEventsRequest {
            after_sequence: after,
        })
        .await
        .expect("stream opens")
        .into_inner();
    let mut events = Vec::new();
    while events.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .expect("a message");
        events.push(message.event.expect("an event"));
    }
    events
}

async fn checkout(world: &World, request_id: &str, card: &str) -> Order {
    world.doubles.cart.fill("user-a", &[("mug", 1)]);
    let order = world
        .place("user-a", place_request(request_id, card, ""))
        .await
        .unwrap();
    world.settled("user-a", &order.id).await
}

pub(crate) async fn events_stream_in_order_from_any_position(backend: Backend) {
    let Some(world) = World::new(backend, "events").await else {
        return;
    };
    let a = checkout(&world, "r-a", GOOD_CARD).await;
    let b = checkout(&world, "r-b", DECLINED_CARD).await;
    let c = checkout(&world, "r-c", GOOD_CARD).await;

    let all = read_events(&world, 0, 3).await;
    let seen: Vec<(&str, i32)> = all
        .iter()
        .map(|e| (e.order_id.as_str(), e.r#type))
        .collect();
    assert_eq!(
        seen,
        [
            (a.id.as_str(), OrderEventType::Placed as i32),
            (b.id.as_str(), OrderEventType::Failed as i32),
            (c.id.as_str(), OrderEventType::Placed as i32),
        ]
    );
    assert!(all.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert!(all[0].sequence >= 1);
    assert_eq!(
        all[1].order.as_ref().unwrap().state,
        OrderState::Failed as i32
    );
    assert!(all[1].order.as_ref().unwrap().failure.is_some());
    let mut ids: Vec<_> = all.iter().map(|e| e.event_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(all.iter().all(|e| e.occur_time.is_some()));

    // From a position: only what follows it; again after a reconnect, the same events.
    let rest = read_events(&world, all[0].sequence, 2).await;
    assert_eq!(rest, all[1..]);
    let again = read_events(&world, all[0].sequence, 2).await;
    assert_eq!(again, rest);

    // A stream at the end delivers new events as they happen.
    let mut live = world
        .client()
        .stream_order_events(StreamOrderEventsRequest {
            after_sequence: all[2].sequence,
        })
        .await
        .unwrap()
        .into_inner();
    let d = checkout(&world, "r-d", GOOD_CARD).await;
    let next = tokio::time::timeout(Duration::from_secs(20), live.message())
        .await
        .expect("in time")
        .unwrap()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(next.order_id, d.id);
    assert!(next.sequence > all[2].sequence);
    assert_eq!(next.order, Some(d));

    let status = world
        .client()
        .stream_order_events(StreamOrderEventsRequest { after_sequence: -1 })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["after_sequence"]);
    world.finish().await;
}

pub(crate) async fn streams_end_cleanly_on_shutdown(backend: Backend) {
    let Some(mut world) = World::new(backend, "stream_shutdown").await else {
        return;
    };
    let mut stream = world
        .client()
        .stream_order_events(StreamOrderEventsRequest { after_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    world.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("the stream ends when orders stops");
    match end {
        Ok(None) => {}
        Ok(Some(message)) => panic!("unexpected message {message:?}"),
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
    }
    world.finish().await;
}

pub(crate) async fn events_of_every_replica_reach_every_stream(backend: Backend) {
    let Some(world) = World::new(backend, "replica_events").await else {
        return;
    };
    let other = world.replica(|_| {}, Arc::new(SystemClock)).await;
    let mut stream = other
        .client
        .clone()
        .stream_order_events(StreamOrderEventsRequest { after_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    // Placed through the first replica, seen on the second one's stream (by its poll).
    let order = checkout(&world, "r-1", GOOD_CARD).await;
    let event = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("in time")
        .unwrap()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(event.order_id, order.id);
    assert_eq!(event.order, Some(order));
    other.stop().await;
    world.finish().await;
}
