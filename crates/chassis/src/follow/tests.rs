//! The follower against a scripted source and a recording handler, on paused time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::*;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Broken(&'static str);

/// What one call to `open` gives.
enum Connection {
    /// The stream cannot be opened.
    Refused,
    /// These items, then the end of the stream.
    Closes(Vec<Result<i64, Broken>>),
    /// These items, then nothing more until shutdown.
    Hangs(Vec<i64>),
}

/// Items are their own positions. Once the script is played, every connection hangs empty.
struct Script {
    connections: VecDeque<Connection>,
    /// When each `open` was called, and after which position.
    opened: Arc<Mutex<Vec<(Duration, i64)>>>,
    start: Instant,
}

impl Script {
    fn new(connections: impl IntoIterator<Item = Connection>) -> Self {
        Self {
            connections: connections.into_iter().collect(),
            opened: Arc::default(),
            start: Instant::now(),
        }
    }
}

impl Source for Script {
    type Item = i64;
    type Error = Broken;

    async fn open(&mut self, after: i64) -> Result<Items<i64, Broken>, Broken> {
        self.opened
            .lock()
            .unwrap()
            .push((self.start.elapsed(), after));
        match self.connections.pop_front() {
            Some(Connection::Refused) => Err(Broken("refused")),
            Some(Connection::Closes(items)) => Ok(Box::pin(tokio_stream::iter(items))),
            Some(Connection::Hangs(items)) => Ok(Box::pin(
                tokio_stream::iter(items.into_iter().map(Ok)).chain(tokio_stream::pending()),
            )),
            None => Ok(Box::pin(tokio_stream::pending())),
        }
    }

    fn position(item: &i64) -> i64 {
        *item
    }
}

/// Keeps its position in memory and records what it handled.
#[derive(Default)]
struct Recorder {
    position: i64,
    handled: Vec<i64>,
    /// Fails on this item, once.
    fail_on: Option<i64>,
    /// Stops the follower when handling this item, then takes a second to finish it.
    stop_on: Option<(i64, Shutdown)>,
    /// Stops the follower once this item is handled.
    stop_after: Option<(i64, Shutdown)>,
}

impl Handler<i64> for Recorder {
    type Error = Broken;

    async fn position(&mut self) -> Result<i64, Broken> {
        Ok(self.position)
    }

    async fn handle(&mut self, item: i64) -> Result<(), Broken> {
        if self.fail_on == Some(item) {
            self.fail_on = None;
            return Err(Broken("cannot handle it now"));
        }
        if let Some((at, shutdown)) = &self.stop_on
            && *at == item
        {
            shutdown.trigger();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.handled.push(item);
        self.position = item;
        if let Some((at, shutdown)) = &self.stop_after
            && *at == item
        {
            shutdown.trigger();
        }
        Ok(())
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn backoff() -> Backoff {
    Backoff::new(ms(100), ms(1_000))
}

#[tokio::test(start_paused = true)]
async fn items_are_handled_in_order_and_replays_are_skipped() {
    let shutdown = Shutdown::new();
    let script = Script::new([
        Connection::Closes(vec![Ok(1), Ok(2), Ok(4)]),
        // A replay of what was handled already, then something new.
        Connection::Hangs(vec![2, 4, 7, 9]),
    ]);
    let opened = script.opened.clone();
    let mut recorder = Recorder {
        stop_after: Some((9, shutdown.clone())),
        ..Recorder::default()
    };
    run("test", script, &mut recorder, backoff(), &shutdown).await;
    assert_eq!(recorder.handled, [1, 2, 4, 7, 9]);
    assert_eq!(*opened.lock().unwrap(), [(ms(0), 0), (ms(100), 4)]);
}

#[tokio::test(start_paused = true)]
async fn it_resumes_after_the_handlers_position() {
    let shutdown = Shutdown::new();
    let script = Script::new([Connection::Hangs(vec![3, 5, 6])]);
    let opened = script.opened.clone();
    let mut recorder = Recorder {
        position: 5,
        stop_after: Some((6, shutdown.clone())),
        ..Recorder::default()
    };
    run("test", script, &mut recorder, backoff(), &shutdown).await;
    // 3 and 5 are at or before the stored position: a source that sends them is not obeyed.
    assert_eq!(recorder.handled, [6]);
    assert_eq!(*opened.lock().unwrap(), [(ms(0), 5)]);
}

#[tokio::test(start_paused = true)]
async fn reconnects_back_off_and_start_over_once_items_flow() {
    let shutdown = Shutdown::new();
    let script = Script::new([
        Connection::Refused,
        Connection::Refused,
        Connection::Refused,
        // Items flowed and the stream ended normally: the wait starts over.
        Connection::Closes(vec![Ok(1)]),
        Connection::Refused,
        // Items flowed, but the stream broke: the wait keeps growing.
        Connection::Closes(vec![Ok(2), Err(Broken("reset by peer"))]),
        // An empty stream that ends is no sign of health either.
        Connection::Closes(vec![]),
        Connection::Refused,
        Connection::Refused,
    ]);
    let opened = script.opened.clone();
    let stop = shutdown.clone();
    let following = tokio::spawn(async move {
        let mut recorder = Recorder::default();
        run("test", script, &mut recorder, backoff(), &stop).await;
        recorder.handled
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    shutdown.trigger();
    assert_eq!(following.await.unwrap(), [1, 2]);
    let opened_at: Vec<u64> = opened
        .lock()
        .unwrap()
        .iter()
        .map(|(at, _)| at.as_millis() as u64)
        .collect();
    assert_eq!(
        opened_at,
        // +100 +200 +400, then +100 (reset) +200 +400 +800 +1000 +1000
        [0, 100, 300, 700, 800, 1_000, 1_400, 2_200, 3_200, 4_200]
    );
}

#[tokio::test(start_paused = true)]
async fn an_item_that_failed_comes_again_after_the_reconnect() {
    let shutdown = Shutdown::new();
    let script = Script::new([
        Connection::Hangs(vec![1, 2, 3]),
        Connection::Hangs(vec![2, 3]),
    ]);
    let opened = script.opened.clone();
    let mut recorder = Recorder {
        fail_on: Some(2),
        stop_after: Some((3, shutdown.clone())),
        ..Recorder::default()
    };
    run("test", script, &mut recorder, backoff(), &shutdown).await;
    assert_eq!(recorder.handled, [1, 2, 3]);
    assert_eq!(*opened.lock().unwrap(), [(ms(0), 0), (ms(100), 1)]);
}

#[tokio::test(start_paused = true)]
async fn a_stop_lets_the_item_in_hand_finish_and_takes_no_other() {
    let shutdown = Shutdown::new();
    let script = Script::new([Connection::Hangs(vec![1, 2, 3])]);
    let mut recorder = Recorder {
        stop_on: Some((2, shutdown.clone())),
        ..Recorder::default()
    };
    let start = Instant::now();
    run("test", script, &mut recorder, backoff(), &shutdown).await;
    assert_eq!(recorder.handled, [1, 2]);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_stop_ends_the_wait_before_a_reconnect() {
    let shutdown = Shutdown::new();
    let script = Script::new([Connection::Refused]);
    let opened = script.opened.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(30)).await;
        stop.trigger();
    });
    let start = Instant::now();
    let mut recorder = Recorder::default();
    let long = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
    run("test", script, &mut recorder, long, &shutdown).await;
    assert_eq!(start.elapsed(), ms(30));
    assert_eq!(opened.lock().unwrap().len(), 1);
}
