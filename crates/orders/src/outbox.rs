//! The order event stream (StreamOrderEvents): what the outbox holds after a position, in
//! order, then new events as they are committed. The outbox itself, written in the
//! transaction that changes an order, is the store's ([`crate::store`]).
//!
//! One reader per process, the [`EventHub`], follows the outbox for every stream: it reads
//! what was committed after the last event it saw when this process commits events (a
//! `watch` poked by the store) or every poll interval (events written by other replicas),
//! and hands each new event to every open stream through a broadcast channel. So a thousand
//! subscribers cost one query per poll, not a thousand.
//!
//! Each stream still starts from its own position: it subscribes to the broadcast first,
//! then catches up from the store on its own (pages of [`BATCH`] after its position) until
//! a page comes back short, then sends what the broadcast brings, skipping what it has
//! already sent. Nothing falls between the two: an event broadcast before the subscription
//! was committed before it, so the catch-up reads it; and the reader broadcasts what comes
//! after the newest event when it started, which a stream's catch-up reaches before it
//! follows the broadcast. A stream too slow for the broadcast's
//! buffer catches up from the store again. Delivery is as before: in order, once per stream,
//! from any position, including 0.
//!
//! Streams are capped (`--max-event-streams`): one more is refused with RESOURCE_EXHAUSTED.
//! Each open stream also holds one of the chassis's in-flight permits until it ends, and
//! counts in `bazaar_event_stream_subscribers` meanwhile. What the reader sees written, by
//! this process or another replica, moves `bazaar_outbox_head` (see `metrics`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bazaar_contract::orders::v1::{OrderEvent, StreamOrderEventsResponse};
use chassis::Shutdown;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::error::OrdersError;
use crate::metrics::Subscriber;
use crate::store::OrdersStore;

/// Events read from the store per query.
const BATCH: u32 = 100;
/// Events the broadcast keeps for streams that have not taken them yet.
const LIVE_BUFFER: usize = 1_024;

/// What a stream sends.
type Sent = Result<StreamOrderEventsResponse, Status>;

/// The one follower of the outbox in this process, and the streams fed from it; cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct EventHub {
    inner: Arc<Hub>,
}

#[derive(Debug)]
struct Hub {
    live: broadcast::Sender<Arc<OrderEvent>>,
    streams: Arc<Semaphore>,
    max_streams: usize,
    poll: Duration,
    stop: Shutdown,
    started: AtomicBool,
    /// The newest event when the hub's reader started (`None` until it knows): it
    /// broadcasts only what comes after.
    start: tokio::sync::watch::Sender<Option<i64>>,
    reads: AtomicU64,
}

impl EventHub {
    /// A hub for at most `max_streams` open streams, looking for other replicas' events
    /// every `poll`, until `stop`. It starts reading with the first stream.
    pub fn new(max_streams: usize, poll: Duration, stop: Shutdown) -> Self {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        Self {
            inner: Arc::new(Hub {
                live,
                streams: Arc::new(Semaphore::new(max_streams)),
                max_streams,
                poll,
                stop,
                started: AtomicBool::new(false),
                start: tokio::sync::watch::Sender::new(None),
                reads: AtomicU64::new(0),
            }),
        }
    }

    /// Queries of the outbox made so far, by the hub and by streams catching up.
    pub fn reads(&self) -> u64 {
        self.inner.reads.load(Ordering::Relaxed)
    }

    /// The response stream of StreamOrderEvents: events after `after`, then new ones as
    /// they are committed, until the client goes away or the process stops. Refused when
    /// as many streams are open as allowed.
    pub fn subscribe(
        &self,
        store: &OrdersStore,
        after: i64,
    ) -> Result<ReceiverStream<Sent>, OrdersError> {
        let permit = self
            .inner
            .streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| OrdersError::TooManySubscribers(self.inner.max_streams))?;
        if !self.inner.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().follow_outbox(store.clone()));
        }
        // Subscribed before the catch-up reads, so that nothing falls between the two.
        let live = self.inner.live.subscribe();
        let (sender, receiver) = mpsc::channel(BATCH as usize);
        let subscriber = Subscriber::joined();
        tokio::spawn(
            self.clone()
                .feed(store.clone(), after, live, sender, (permit, subscriber)),
        );
        Ok(ReceiverStream::new(receiver))
    }

    async fn read(&self, store: &OrdersStore, after: i64) -> Result<Vec<OrderEvent>, sqlx::Error> {
        self.inner.reads.fetch_add(1, Ordering::Relaxed);
        store.events_after(after, BATCH).await
    }

    /// The hub's one reader: broadcasts every event committed after the newest one when it
    /// started, in order, until the process stops.
    async fn follow_outbox(self, store: OrdersStore) {
        let stop = self.inner.stop.clone();
        let mut commits = store.event_commits();
        let mut head = loop {
            match store.last_event_sequence().await {
                Ok(head) => {
                    store.saw_event(head);
                    self.inner.start.send_replace(Some(head));
                    break head;
                }
                Err(error) => {
                    tracing::warn!(error = %chassis::error::chain(&error),
                        "cannot read the outbox; trying again");
                    tokio::select! {
                        () = stop.wait() => return,
                        () = tokio::time::sleep(self.inner.poll) => {}
                    }
                }
            }
        };
        loop {
            // Seen before reading: a commit during the read wakes the wait below at once.
            commits.borrow_and_update();
            let full = match self.read(&store, head).await {
                Ok(events) => {
                    let full = events.len() == BATCH as usize;
                    for event in events {
                        head = event.sequence;
                        store.saw_event(head);
                        // No stream open is no error: the next one catches up from the store.
                        let _ = self.inner.live.send(Arc::new(event));
                    }
                    full
                }
                Err(error) => {
                    tracing::warn!(error = %chassis::error::chain(&error),
                        "cannot read the outbox; trying again");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                () = stop.wait() => return,
                Ok(()) = commits.changed() => {}
                () = tokio::time::sleep(self.inner.poll) => {}
            }
        }
    }

    /// One stream: catches up from `after`, then follows the broadcast. Holds `_held`
    /// (its place under the cap, and its count in `bazaar_event_stream_subscribers`) until
    /// it ends.
    async fn feed(
        self,
        store: OrdersStore,
        after: i64,
        mut live: broadcast::Receiver<Arc<OrderEvent>>,
        sender: mpsc::Sender<Sent>,
        _held: (OwnedSemaphorePermit, Subscriber),
    ) {
        let stop = self.inner.stop.clone();
        let mut cursor = after;
        if !self.catch_up(&store, &mut cursor, &sender).await {
            return;
        }
        // An event committed just before the reader started is not broadcast: make sure
        // the catch-up reached where the broadcast begins.
        let mut start = self.inner.start.subscribe();
        let start = tokio::select! {
            () = stop.wait() => return,
            () = sender.closed() => return,
            known = start.wait_for(Option::is_some) => match known {
                Ok(start) => start.unwrap_or_default(),
                Err(_) => return,
            },
        };
        if cursor < start && !self.catch_up(&store, &mut cursor, &sender).await {
            return;
        }
        loop {
            let received = tokio::select! {
                () = stop.wait() => return,
                () = sender.closed() => return,
                received = live.recv() => received,
            };
            match received {
                Ok(event) => {
                    if event.sequence > cursor {
                        cursor = event.sequence;
                        if !self.send(&sender, (*event).clone()).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "event stream fell behind; catching up");
                    if !self.catch_up(&store, &mut cursor, &sender).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Sends what the store holds after `cursor`, page by page, until a page is short.
    /// `false` when the stream is over (client gone, stop, store failure sent).
    async fn catch_up(
        &self,
        store: &OrdersStore,
        cursor: &mut i64,
        sender: &mpsc::Sender<Sent>,
    ) -> bool {
        loop {
            let events = match self.read(store, *cursor).await {
                Ok(events) => events,
                Err(error) => {
                    let status = chassis::error::unavailable("orders event store", &error);
                    let _ = sender.send(Err(status)).await;
                    return false;
                }
            };
            let full = events.len() == BATCH as usize;
            for event in events {
                *cursor = event.sequence;
                if !self.send(sender, event).await {
                    return false;
                }
            }
            if !full {
                return true;
            }
        }
    }

    /// Sends one event; `false` when the client has gone or the process stops.
    async fn send(&self, sender: &mpsc::Sender<Sent>, event: OrderEvent) -> bool {
        let message = StreamOrderEventsResponse { event: Some(event) };
        tokio::select! {
            sent = sender.send(Ok(message)) => sent.is_ok(),
            () = self.inner.stop.wait() => false,
        }
    }
}
