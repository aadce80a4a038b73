//! Following an event stream: read it from where the last run stopped, handle each item once,
//! reconnect when it breaks, stop cleanly.
//!
//! A consumer of another service's event stream (notification and recommendation read the
//! orders events) keeps the position of the last item it fully handled, and the stream
//! delivers the items after a given position, in increasing positions, at least once across
//! reconnects. [`run`] is the loop around that, written once:
//!
//! 1. ask the [`Handler`] for its position (the handler may first finish what a previous
//!    connection left half done);
//! 2. open the [`Source`] after that position;
//! 3. hand each item to the handler, in order, skipping any item at or before the position
//!    already handled (a replay cannot be handled twice by mistake);
//! 4. when the stream ends or fails (its server restarting, down, unreachable), or the
//!    handler fails, wait with [`Backoff`] and go back to 1; the wait starts over once items
//!    flowed on a connection that then ended normally;
//! 5. on [`Shutdown`], stop: while connecting or waiting for the next item, never in the
//!    middle of handling one.
//!
//! The follower knows nothing of what it follows: positions are plain integers, items are
//! whatever the source yields. What a stream is (which RPC, which request, which field is
//! the position) is the source's business, in the consuming service.
//!
//! [`open_stream`] opens a gRPC server stream that is meant to stay open. An outbound call
//! made outside any inbound call gets the default deadline (5 s) from the chassis client.
//! That deadline bounds the wait for the response headers only, which a streaming server
//! sends at once, so it would not cut the stream; still, to state the intent and keep the
//! `grpc-timeout` header honest, the call is made with [`STREAM_DEADLINE`], a day away. A
//! stream that lives that long is simply reopened.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;
use tokio_stream::{Stream, StreamExt};

use crate::backoff::Backoff;
use crate::shutdown::{Shutdown, Slept};

/// How long one stream opened by [`open_stream`] may stay open before it is reopened.
pub const STREAM_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// The items of one connection to a stream, or why the connection broke.
pub type Items<T, E> = Pin<Box<dyn Stream<Item = Result<T, E>> + Send>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the items come from.
pub trait Source: Send {
    /// One item of the stream.
    type Item: Send;
    /// Why the stream could not be opened, or broke.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens the stream of the items after position `after`.
    fn open(
        &mut self,
        after: i64,
    ) -> impl Future<Output = Result<Items<Self::Item, Self::Error>, Self::Error>> + Send;

    /// The position of `item` in the stream. Positions increase along the stream; they may
    /// have gaps.
    fn position(item: &Self::Item) -> i64;
}

/// What is done with the items, and where the position of the last one is kept.
pub trait Handler<T>: Send {
    /// Why an item could not be handled, or the position not read.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The position of the last item fully handled (0 for none yet): the stream is opened
    /// after it. Asked before every connection, so it may first finish work that a previous
    /// connection (or process) left half done.
    fn position(&mut self) -> impl Future<Output = Result<i64, Self::Error>> + Send;

    /// Handles one item and keeps its position (in the same step, when a crash between the
    /// two must not lose or repeat anything). An error breaks the connection; the item comes
    /// again after the reconnect.
    fn handle(&mut self, item: T) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// How one connection to the stream ended.
enum Ended {
    /// The stream ended after this many items arrived.
    Closed(u64),
    /// Shutdown.
    Stopped,
}

/// Follows `source` into `handler` until `shutdown`, reconnecting after `backoff`. `stream`
/// names the stream in the logs.
pub async fn run<S, H>(
    stream: &'static str,
    mut source: S,
    handler: &mut H,
    mut backoff: Backoff,
    shutdown: &Shutdown,
) where
    S: Source,
    H: Handler<S::Item>,
{
    loop {
        let failure = match follow_once(stream, &mut source, handler, shutdown).await {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Closed(received)) => {
                if received > 0 {
                    backoff.reset();
                }
                tracing::info!(stream, received, "stream ended; reconnecting");
                None
            }
            Err(error) => Some(error),
        };
        let delay = backoff.next_delay();
        if let Some(error) = failure {
            tracing::warn!(
                stream,
                error = %crate::error::chain(error.as_ref()),
                retry_in_ms = delay.as_millis() as u64,
                "following the stream failed; retrying"
            );
        }
        if shutdown.sleep(delay).await == Slept::Stopped {
            return;
        }
    }
}

/// Opens the stream after the handler's position and handles items until it ends.
async fn follow_once<S, H>(
    stream: &'static str,
    source: &mut S,
    handler: &mut H,
    shutdown: &Shutdown,
) -> Result<Ended, BoxError>
where
    S: Source,
    H: Handler<S::Item>,
{
    let mut handled = handler.position().await?;
    let mut items = tokio::select! {
        biased;
        () = shutdown.wait() => return Ok(Ended::Stopped),
        opened = source.open(handled) => opened?,
    };
    tracing::info!(stream, after = handled, "following the stream");
    let mut received = 0;
    loop {
        let item = tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(Ended::Stopped),
            item = items.next() => item,
        };
        let Some(item) = item else {
            return Ok(Ended::Closed(received));
        };
        let item = item?;
        received += 1;
        let position = S::position(&item);
        if position <= handled {
            tracing::debug!(
                stream,
                position,
                handled,
                "item at or before the position already handled; skipped"
            );
            continue;
        }
        handler.handle(item).await?;
        handled = position;
    }
}

/// Opens a gRPC server stream that is meant to stay open, as the items of a [`Source`]:
/// `call` is the generated client's method, given `message` with [`STREAM_DEADLINE`] as its
/// deadline; `unpack` takes the item out of each streamed message (a message it gives `None`
/// for is passed over).
pub async fn open_stream<M, R, T, E, F, Fut, U>(
    message: M,
    call: F,
    mut unpack: U,
) -> Result<Items<T, E>, tonic::Status>
where
    F: FnOnce(tonic::Request<M>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<tonic::Streaming<R>>, tonic::Status>>,
    R: Send + 'static,
    U: FnMut(R) -> Option<T> + Send + 'static,
    E: From<tonic::Status> + 'static,
{
    let mut request = tonic::Request::new(message);
    request.set_timeout(STREAM_DEADLINE);
    let response = crate::deadline::scope(Instant::now() + STREAM_DEADLINE, call(request)).await?;
    let messages = response.into_inner();
    Ok(Box::pin(messages.filter_map(
        move |message| match message {
            Ok(message) => unpack(message).map(Ok),
            Err(status) => Some(Err(E::from(status))),
        },
    )))
}

#[cfg(test)]
mod tests;
