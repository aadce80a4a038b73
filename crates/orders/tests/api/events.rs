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

fn open_stream(
    world: &World,
    after: i64,
) -> impl Future<Output = Result<tonic::Streaming<StreamOrderEventsResponse>, tonic::Status>> {
    let mut client = world.client();
    async move {
        client
            .stream_order_events(StreamOrderEventsRequest {
                after_sequence: after,
            })
            .await
            .map(tonic::Response::into_inner)
    }
}

async fn next_event(stream: &mut tonic::Streaming<StreamOrderEventsResponse>) -> OrderEvent {
    tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("a message")
        .event
        .expect("an event")
}

pub(crate) async fn streams_beyond_the_cap_are_refused(backend: Backend) {
    let Some(world) = World::new_with(
        backend,
        "stream_cap",
        |config| config.max_event_streams = 2,
        Arc::new(SystemClock),
    )
    .await
    else {
        return;
    };
    let first = open_stream(&world, 0).await.expect("first stream");
    let _second = open_stream(&world, 0).await.expect("second stream");
    let status = open_stream(&world, 0).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        reason(&status),
        Some((
            "bazaar.orders".to_owned(),
            "TOO_MANY_SUBSCRIBERS".to_owned()
        ))
    );
    // A stream that ends frees its place.
    drop(first);
    let mut reopened = None;
    let freed = chassis::testing::eventually(Duration::from_secs(20), async || {
        reopened = open_stream(&world, 0).await.ok();
        reopened.is_some()
    })
    .await;
    assert!(freed, "the place of a closed stream is never freed");
    world.finish().await;
}

pub(crate) async fn open_streams_count_as_calls_in_progress(backend: Backend) {
    let Some(world) = World::new_with(
        backend,
        "stream_in_flight",
        |config| config.server.max_in_flight = 2,
        Arc::new(SystemClock),
    )
    .await
    else {
        return;
    };
    let first = open_stream(&world, 0).await.expect("first stream");
    let _second = open_stream(&world, 0).await.expect("second stream");
    // Both streams are open: the process is at its bound of calls in progress.
    let status = world.get("user-a", "o-none").await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    drop(first);
    let answered = chassis::testing::eventually(Duration::from_secs(20), async || {
        world
            .get("user-a", "o-none")
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
    })
    .await;
    assert!(
        answered,
        "a closed stream still counts as a call in progress"
    );
    world.finish().await;
}

pub(crate) async fn many_streams_share_one_reader(backend: Backend) {
    // Other replicas' events are looked for only once an hour: every read of the outbox
    // below comes from a commit of this process or from a stream catching up.
    let Some(world) = World::new_with(
        backend,
        "shared_reader",
        |config| config.event_poll_ms = 3_600_000,
        Arc::new(SystemClock),
    )
    .await
    else {
        return;
    };
    let first = checkout(&world, "r-1", GOOD_CARD).await;
    let mut streams = Vec::new();
    for _ in 0..10 {
        let mut stream = open_stream(&world, 0).await.expect("a stream");
        // Caught up from the store: each stream read its own way to the end.
        assert_eq!(next_event(&mut stream).await.order_id, first.id);
        streams.push(stream);
    }
    let before = world.orders().events().reads();
    let second = checkout(&world, "r-2", GOOD_CARD).await;
    for stream in &mut streams {
        assert_eq!(next_event(stream).await.order_id, second.id);
    }
    let reads = world.orders().events().reads() - before;
    assert!(
        (1..=2).contains(&reads),
        "10 streams got one new event with {reads} reads of the outbox"
    );

    // A stream from an older position still catches up, then follows.
    let mut late = open_stream(&world, 0).await.expect("a stream");
    assert_eq!(next_event(&mut late).await.order_id, first.id);
    assert_eq!(next_event(&mut late).await.order_id, second.id);
    let third = checkout(&world, "r-3", GOOD_CARD).await;
    assert_eq!(next_event(&mut late).await.order_id, third.id);
    assert_eq!(next_event(&mut streams[0]).await.order_id, third.id);
    world.finish().await;
}
