//! The order event stream (StreamOrderEvents): what the outbox holds after a position, in
//! order, then new events as they are committed. The outbox itself, written in the
//! transaction that changes an order, is the store's ([`crate::store`]).
//!
//! A stream sends what is stored after its position, then waits: for a commit of this
//! process (a `watch` poked by the store), or for the poll interval (events written by other
//! replicas), or for shutdown, which ends the stream cleanly.

use std::time::Duration;

use bazaar_contract::orders::v1::StreamOrderEventsResponse;
use chassis::Shutdown;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::store::OrdersStore;

/// Events read from the store per query.
const BATCH: u32 = 100;

/// The response stream of StreamOrderEvents: events after `after`, then new ones as they
/// are committed, until the client goes away or `stop` fires.
pub fn follow(
    store: OrdersStore,
    after: i64,
    poll: Duration,
    stop: Shutdown,
) -> ReceiverStream<Result<StreamOrderEventsResponse, Status>> {
    let (sender, receiver) = mpsc::channel(BATCH as usize);
    let mut commits = store.event_commits();
    tokio::spawn(async move {
        let mut cursor = after;
        loop {
            // Seen before reading: a commit during the read wakes the wait below at once.
            commits.borrow_and_update();
            let events = match store.events_after(cursor, BATCH).await {
                Ok(events) => events,
                Err(error) => {
                    let status = chassis::error::unavailable("orders event store", &error);
                    let _ = sender.send(Err(status)).await;
                    return;
                }
            };
            let full = events.len() == BATCH as usize;
            for event in events {
                cursor = event.sequence;
                let message = StreamOrderEventsResponse { event: Some(event) };
                tokio::select! {
                    sent = sender.send(Ok(message)) => if sent.is_err() { return },
                    () = stop.wait() => return,
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                () = stop.wait() => return,
                () = sender.closed() => return,
                Ok(()) = commits.changed() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
    ReceiverStream::new(receiver)
}
