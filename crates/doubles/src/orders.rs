//! A test double of the orders service: only `StreamOrderEvents` is real. It holds an event
//! history that tests append to, streams it from `after_sequence` and keeps each stream open
//! for new events, as the contract says. It records every stream request, can end every open
//! stream (as an orders restart would), and can replay from the start whatever the request
//! says (the at-least-once delivery a consumer must de-duplicate).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_server::{OrdersService, OrdersServiceServer};
use bazaar_contract::orders::v1::*;
use chassis::Server;
use chassis::testing::eventually;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{Serving, server_args};

/// One `StreamOrderEvents` call, as the double saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    /// The position asked for.
    pub after_sequence: i64,
    /// The `grpc-timeout` header, if any.
    pub grpc_timeout: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    events: Mutex<Vec<OrderEvent>>,
    requests: Mutex<Vec<SeenRequest>>,
    replay_from_start: AtomicBool,
}

/// The double; clones share the history.
#[derive(Clone, Debug)]
pub struct OrdersDouble {
    state: Arc<State>,
    /// Bumped on every change; the second number is bumped to end every open stream.
    changed: Arc<watch::Sender<(u64, u64)>>,
}

impl Default for OrdersDouble {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            changed: Arc::new(watch::channel((0, 0)).0),
        }
    }
}

impl OrdersDouble {
    /// Appends an event as it is (sequence included).
    pub fn push(&self, event: OrderEvent) {
        self.state.events.lock().unwrap().push(event);
        self.changed.send_modify(|(version, _)| *version += 1);
    }

    /// The sequence of the newest event (0 when there is none).
    pub fn last_sequence(&self) -> i64 {
        self.state
            .events
            .lock()
            .unwrap()
            .last()
            .map_or(0, |e| e.sequence)
    }

    /// The next sequence to use: with gaps, as the contract allows.
    pub fn next_sequence(&self) -> i64 {
        self.last_sequence() + 3
    }

    /// Ends every open stream with OK; consumers reconnect.
    pub fn end_streams(&self) {
        self.changed.send_modify(|(_, generation)| *generation += 1);
    }

    /// From now on, every stream starts at the beginning, whatever it asks for.
    pub fn replay_from_start(&self, on: bool) {
        self.state.replay_from_start.store(on, Ordering::SeqCst);
    }

    /// Every stream request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits until at least `count` streams were asked for.
    pub async fn wait_for_streams(&self, count: usize) {
        let opened = eventually(Duration::from_secs(20), async || {
            self.requests().len() >= count
        })
        .await;
        assert!(
            opened,
            "fewer than {count} streams were opened: {:?}",
            self.requests()
        );
    }

    /// Serves the double on `listen` (port 0 for any) until the returned handle stops it;
    /// a stop cuts its open streams off at once.
    pub async fn serve(&self, listen: SocketAddr) -> Serving {
        let server = Server::bind("orders", &server_args(Some(listen)), 0)
            .await
            .expect("the orders double binds")
            .add_service(OrdersServiceServer::new(self.clone()));
        Serving::start(server)
    }
}

#[tonic::async_trait]
impl OrdersService for OrdersDouble {
    async fn place_order(
        &self,
        _: Request<PlaceOrderRequest>,
    ) -> Result<Response<PlaceOrderResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }

    async fn get_order(
        &self,
        _: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }

    async fn list_orders(
        &self,
        _: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }

    type StreamOrderEventsStream = ReceiverStream<Result<StreamOrderEventsResponse, Status>>;

    async fn stream_order_events(
        &self,
        request: Request<StreamOrderEventsRequest>,
    ) -> Result<Response<Self::StreamOrderEventsStream>, Status> {
        let grpc_timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let after_sequence = request.get_ref().after_sequence;
        if after_sequence < 0 {
            return Err(Status::invalid_argument(
                "after_sequence must not be negative",
            ));
        }
        self.state.requests.lock().unwrap().push(SeenRequest {
            after_sequence,
            grpc_timeout,
        });
        let mut after = if self.state.replay_from_start.load(Ordering::SeqCst) {
            0
        } else {
            after_sequence
        };
        let (sender, receiver) = mpsc::channel(16);
        let state = self.state.clone();
        let mut changed = self.changed.subscribe();
        let generation = changed.borrow().1;
        tokio::spawn(async move {
            loop {
                let batch: Vec<OrderEvent> = state
                    .events
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|e| e.sequence > after)
                    .cloned()
                    .collect();
                for event in batch {
                    after = event.sequence;
                    let message = StreamOrderEventsResponse { event: Some(event) };
                    if sender.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    () = sender.closed() => return,
                    result = changed.changed() => {
                        if result.is_err() || changed.borrow().1 != generation {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
