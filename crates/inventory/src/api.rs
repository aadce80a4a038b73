//! The gRPC face of the inventory: parse the request, ask the store, shape the response.
//!
//! Handlers stay thin: every field is parsed into a domain type first (a bad one becomes an
//! `INVALID_ARGUMENT` naming it), time is read once per call from the injected clock, and
//! every failure goes through [`InventoryError`]'s single mapping to a `Status`. Who may
//! call what (Restock: an admin or an operator; stock reads: anyone; reservations: orders)
//! is decided by the access rules the chassis enforces before a handler runs; Restock only
//! logs who it was.

use std::sync::Arc;

use bazaar_contract::inventory::v1::{self as pb, inventory_service_server::InventoryService};
use bazaar_contract::values::calendar::timestamp;
use chassis::auth::Peer;
use chassis::error::{self, AtField};
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};

use crate::clock::Clock;
use crate::domain::{
    MAX_BATCH, ProductId, Reservation, ReservationId, ReserveRequest, RestockRequest, StockLevel,
    TtlField,
};
use crate::error::InventoryError;
use crate::store::InventoryStore;

/// The inventory service.
#[derive(Clone, Debug)]
pub struct InventoryApi {
    store: StoreCell<InventoryStore>,
    clock: Arc<dyn Clock>,
}

impl InventoryApi {
    /// A service that answers from `store` once it is open, reading time from `clock`.
    pub fn new(store: StoreCell<InventoryStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    #[tracing::instrument(skip_all, fields(product = %request.get_ref().product_id))]
    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        let id = ProductId::parse(&request.get_ref().product_id)
            .at("product_id")
            .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let mut levels = store
            .stock_levels(std::slice::from_ref(&id), self.clock.now_ms())
            .await?;
        let level = levels
            .remove(id.as_str())
            .unwrap_or_else(|| never_stocked(&id));
        Ok(Response::new(pb::GetStockResponse {
            stock: Some(stock_to_pb(level)),
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().product_ids.len()))]
    async fn batch_get_stock(
        &self,
        request: Request<pb::BatchGetStockRequest>,
    ) -> Result<Response<pb::BatchGetStockResponse>, Status> {
        let ids = error::parse_batch(
            "product_ids",
            &request.get_ref().product_ids,
            MAX_BATCH,
            ProductId::parse,
        )
        .map_err(InventoryError::Invalid)?;
        let store = self.store.get()?;
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        let levels = store.stock_levels(&unique, self.clock.now_ms()).await?;
        let stocks = ids
            .iter()
            .map(|id| {
                stock_to_pb(
                    levels
                        .get(id.as_str())
                        .cloned()
                        .unwrap_or_else(|| never_stocked(id)),
                )
            })
            .collect();
        Ok(Response::new(pb::BatchGetStockResponse { stocks }))
    }

    #[tracing::instrument(skip_all, fields(
        request_id = %request.get_ref().request_id,
        product = %request.get_ref().product_id,
        quantity = request.get_ref().quantity,
    ))]
    async fn restock(
        &self,
        request: Request<pb::RestockRequest>,
    ) -> Result<Response<pb::RestockResponse>, Status> {
        // Who may restock (an admin's token or an operator's certificate) is the access
        // rule's to decide, before this runs; the log says who it was.
        let by = restocked_by(&request);
        let request = request.into_inner();
        let restock =
            RestockRequest::parse(&request.request_id, &request.product_id, request.quantity)
                .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let level = store.restock(&restock, self.clock.now_ms()).await?;
        tracing::info!(by = %by, available = level.available, "restocked");
        Ok(Response::new(pb::RestockResponse {
            stock: Some(stock_to_pb(level)),
        }))
    }

    #[tracing::instrument(skip_all, fields(
        request_id = %request.get_ref().request_id,
        lines = request.get_ref().lines.len(),
    ))]
    async fn reserve_stock(
        &self,
        request: Request<pb::ReserveStockRequest>,
    ) -> Result<Response<pb::ReserveStockResponse>, Status> {
        let request = request.into_inner();
        let lines: Vec<(String, i32)> = request
            .lines
            .into_iter()
            .map(|l| (l.product_id, l.quantity))
            .collect();
        let ttl = request.ttl.map(|d| TtlField {
            seconds: d.seconds,
            nanos: d.nanos,
        });
        let reserve = ReserveRequest::parse(&request.request_id, &lines, ttl, &request.reference)
            .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let id = ReservationId::generate().map_err(InventoryError::Randomness)?;
        let reservation = store.reserve(&reserve, &id, self.clock.now_ms()).await?;
        tracing::info!(reservation = %reservation.id, "reserved");
        Ok(Response::new(pb::ReserveStockResponse {
            reservation: Some(reservation_to_pb(reservation)),
        }))
    }

    #[tracing::instrument(skip_all, fields(reservation = %request.get_ref().reservation_id))]
    async fn get_reservation(
        &self,
        request: Request<pb::GetReservationRequest>,
    ) -> Result<Response<pb::GetReservationResponse>, Status> {
        let id = ReservationId::parse(&request.get_ref().reservation_id)
            .at("reservation_id")
            .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let reservation = if id.could_exist() {
            store.reservation(id.as_str(), self.clock.now_ms()).await?
        } else {
            None
        };
        let reservation = reservation
            .ok_or_else(|| InventoryError::ReservationNotFound(id.as_str().to_owned()))?;
        Ok(Response::new(pb::GetReservationResponse {
            reservation: Some(reservation_to_pb(reservation)),
        }))
    }

    #[tracing::instrument(skip_all, fields(reservation = %request.get_ref().reservation_id))]
    async fn commit_reservation(
        &self,
        request: Request<pb::CommitReservationRequest>,
    ) -> Result<Response<pb::CommitReservationResponse>, Status> {
        let id = ReservationId::parse(&request.get_ref().reservation_id)
            .at("reservation_id")
            .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let reservation = store.commit(&id, self.clock.now_ms()).await?;
        Ok(Response::new(pb::CommitReservationResponse {
            reservation: Some(reservation_to_pb(reservation)),
        }))
    }

    #[tracing::instrument(skip_all, fields(reservation = %request.get_ref().reservation_id))]
    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> Result<Response<pb::ReleaseReservationResponse>, Status> {
        let id = ReservationId::parse(&request.get_ref().reservation_id)
            .at("reservation_id")
            .map_err(InventoryError::from)?;
        let store = self.store.get()?;
        let reservation = store.release(&id, self.clock.now_ms()).await?;
        Ok(Response::new(pb::ReleaseReservationResponse {
            reservation: Some(reservation_to_pb(reservation)),
        }))
    }
}

/// The stock of a product the inventory never heard of: none.
fn never_stocked(id: &ProductId) -> StockLevel {
    StockLevel {
        product_id: id.as_str().to_owned(),
        available: 0,
        reserved: 0,
    }
}

fn stock_to_pb(level: StockLevel) -> pb::Stock {
    pb::Stock {
        product_id: level.product_id,
        available: level.available,
        reserved: level.reserved,
    }
}

fn reservation_to_pb(reservation: Reservation) -> pb::Reservation {
    pb::Reservation {
        id: reservation.id,
        lines: reservation
            .lines
            .into_iter()
            .map(|line| pb::ReservationLine {
                product_id: line.product_id.as_str().to_owned(),
                // Stored quantities were parsed from an int32 in 1..=10,000.
                quantity: i32::try_from(line.quantity).unwrap_or(i32::MAX),
            })
            .collect(),
        state: reservation.state.code() as i32,
        expire_time: Some(timestamp(reservation.expire_ms)),
        reference: reservation.reference,
        create_time: Some(timestamp(reservation.create_ms)),
        update_time: Some(timestamp(reservation.update_ms)),
    }
}

/// Who a Restock the access rule let through came from: the admin's user id, or the
/// operator or service its certificate names.
fn restocked_by<T>(request: &Request<T>) -> String {
    match chassis::auth::caller(request) {
        Ok(caller) => format!("user {}", caller.user_id),
        Err(_) => match chassis::auth::peer(request.extensions()) {
            Peer::Operator(name) => format!("operator {name}"),
            Peer::Service(name) => format!("service {name}"),
            Peer::Anonymous | Peer::Unverified => "an unidentified caller".to_owned(),
        },
    }
}
