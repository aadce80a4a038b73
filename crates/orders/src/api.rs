//! The gRPC face of orders: authenticate, parse the request into domain types, call,
//! shape the response. Every failure goes through [`OrdersError`]'s single mapping to a
//! `Status`.

use bazaar_contract::orders::v1::{self as pb, orders_service_server::OrdersService};
use chassis::error::{FieldViolation, Violations};
use chassis::page::{Paging, TimeAndId};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::checkout;
use crate::domain::{CheckoutInput, OrderRecord};
use crate::error::OrdersError;
use crate::outbox::EventHub;
use crate::saga::Sagas;

/// What separates the creation time from the order id in a ListOrders page position.
const POSITION_SEPARATOR: char = ':';

/// The orders service.
#[derive(Clone, Debug)]
pub struct OrdersApi {
    sagas: Sagas,
    events: EventHub,
}

impl OrdersApi {
    /// A service that checks out with `sagas`, streams events from `events` and answers
    /// from its store once open.
    pub fn new(sagas: Sagas, events: EventHub) -> Self {
        Self { sagas, events }
    }
}

#[tonic::async_trait]
impl OrdersService for OrdersApi {
    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn place_order(
        &self,
        request: Request<pb::PlaceOrderRequest>,
    ) -> Result<Response<pb::PlaceOrderResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let authorization = request
            .metadata()
            .get(chassis::auth::AUTHORIZATION)
            .cloned();
        let input = CheckoutInput::parse(request.get_ref()).map_err(OrdersError::Invalid)?;
        let order = checkout::place_order(&self.sagas, &caller, input, authorization).await?;
        Ok(Response::new(pb::PlaceOrderResponse {
            order: Some(order.to_pb()),
        }))
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::GetOrderResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let order_id = &request.get_ref().order_id;
        if order_id.is_empty() {
            return Err(OrdersError::from(FieldViolation::new("order_id", "is required")).into());
        }
        let store = self.sagas.store()?;
        let order = store
            .get_order(order_id)
            .await
            .map_err(OrdersError::from)?
            .filter(|order| order.user_id == caller.user_id)
            .ok_or_else(|| OrdersError::OrderNotFound(order_id.clone()))?;
        Ok(Response::new(pb::GetOrderResponse {
            order: Some(order.to_pb()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let request = request.into_inner();
        let paging = Paging::of(&["orders", &caller.user_id]);
        let mut violations = Violations::new();
        let page = paging.parse_with(&request, &mut violations, |position| {
            TimeAndId::decode(position, POSITION_SEPARATOR)
        });
        let page = violations.finish(|| page).map_err(OrdersError::Invalid)?;
        let store = self.sagas.store()?;
        // One more than asked tells whether another page follows.
        let mut orders = store
            .list_orders(
                &caller.user_id,
                page.position.as_ref().map(TimeAndId::key),
                page.size + 1,
            )
            .await
            .map_err(OrdersError::from)?;
        let next_page_token = paging.next_token(&mut orders, page.size, |order| {
            TimeAndId::encode(order.create_time_ms, &order.id, POSITION_SEPARATOR)
        });
        Ok(Response::new(pb::ListOrdersResponse {
            orders: orders.iter().map(OrderRecord::to_pb).collect(),
            next_page_token,
        }))
    }

    type StreamOrderEventsStream = ReceiverStream<Result<pb::StreamOrderEventsResponse, Status>>;

    #[tracing::instrument(skip_all, fields(after = request.get_ref().after_sequence))]
    async fn stream_order_events(
        &self,
        request: Request<pb::StreamOrderEventsRequest>,
    ) -> Result<Response<Self::StreamOrderEventsStream>, Status> {
        let after = request.get_ref().after_sequence;
        if after < 0 {
            return Err(OrdersError::from(FieldViolation::new(
                "after_sequence",
                "must not be negative",
            ))
            .into());
        }
        let store = self.sagas.store()?;
        Ok(Response::new(self.events.subscribe(store, after)?))
    }
}
