//! The inventory double: stock per product and reservations, all or nothing, idempotent on
//! request ids, with INSUFFICIENT_STOCK naming each short product in a PreconditionFailure.
//! A switch makes the next commit find its reservation expired.

use std::collections::HashMap;

use bazaar_contract::inventory::v1::inventory_service_server::InventoryService;
use bazaar_contract::inventory::v1::*;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{Shared, down};

/// A product lacking stock: (id, requested, available).
pub type Short = (String, i64, i64);

/// The inventory double's stock, reservations and switches.
#[derive(Debug, Default)]
pub struct InventoryState {
    /// Units that can be reserved.
    pub available: HashMap<String, i64>,
    /// Units sold (committed).
    pub sold: HashMap<String, i64>,
    /// Every reservation made (`res-1`, `res-2`, ...), by id, in its current state.
    pub reservations: HashMap<String, Reservation>,
    /// request id → (request, reservation id or the error's short products)
    pub requests: HashMap<String, (ReserveStockRequest, Result<String, Vec<Short>>)>,
    /// ReserveStock calls received, including those refused while down and retries.
    pub reserve_calls: usize,
    /// Every call answers UNAVAILABLE.
    pub down: bool,
    /// The next CommitReservation finds its reservation expired.
    pub expire_on_next_commit: bool,
    /// How long each CommitReservation takes before it answers.
    pub commit_delay: std::time::Duration,
}

/// The double; clones share its state.
#[derive(Clone, Debug, Default)]
pub struct InventoryDouble(pub Shared<InventoryState>);

impl InventoryDouble {
    /// Sets the units of `product` that can be reserved, replacing what there was.
    pub fn stock(&self, product: &str, units: i64) {
        self.0.lock().available.insert(product.to_owned(), units);
    }

    /// Units of `product` that can be reserved now: stocked, less what is reserved or sold.
    pub fn available(&self, product: &str) -> i64 {
        self.0.lock().available.get(product).copied().unwrap_or(0)
    }

    /// Units of `product` in committed reservations.
    pub fn sold(&self, product: &str) -> i64 {
        self.0.lock().sold.get(product).copied().unwrap_or(0)
    }

    /// States of every reservation.
    pub fn states(&self) -> Vec<ReservationState> {
        let state = self.0.lock();
        let mut states: Vec<_> = state
            .reservations
            .values()
            .map(|r| ReservationState::try_from(r.state).unwrap())
            .collect();
        states.sort_by_key(|s| *s as i32);
        states
    }
}

fn insufficient(short: &[Short]) -> Status {
    let mut details =
        ErrorDetails::with_error_info("INSUFFICIENT_STOCK", "bazaar.inventory", HashMap::new());
    for (product, requested, available) in short {
        details.add_precondition_failure_violation(
            "STOCK",
            product,
            format!("requested {requested}, available {available}"),
        );
    }
    Status::with_error_details(Code::FailedPrecondition, "insufficient stock", details)
}

fn reason(code: Code, reason: &str) -> Status {
    chassis::error::with_reason(code, "bazaar.inventory", reason, reason, [])
}

#[tonic::async_trait]
impl InventoryService for InventoryDouble {
    async fn reserve_stock(
        &self,
        request: Request<ReserveStockRequest>,
    ) -> Result<Response<ReserveStockResponse>, Status> {
        let request = request.into_inner();
        let mut state = self.0.lock();
        state.reserve_calls += 1;
        if state.down {
            return Err(down());
        }
        assert!(!request.request_id.is_empty() && request.request_id.len() <= 64);
        let ttl = request.ttl.unwrap_or_default().seconds;
        assert!((1..=3600).contains(&ttl), "ttl {ttl}");
        if let Some((first, outcome)) = state.requests.get(&request.request_id) {
            if *first != request {
                return Err(reason(Code::AlreadyExists, "REQUEST_ID_REUSED"));
            }
            return match outcome.clone() {
                Ok(id) => Ok(Response::new(ReserveStockResponse {
                    reservation: Some(state.reservations[&id].clone()),
                })),
                Err(short) => Err(insufficient(&short)),
            };
        }
        let short: Vec<Short> = request
            .lines
            .iter()
            .filter_map(|line| {
                let available = state.available.get(&line.product_id).copied().unwrap_or(0);
                (available < i64::from(line.quantity))
                    .then(|| (line.product_id.clone(), i64::from(line.quantity), available))
            })
            .collect();
        if !short.is_empty() {
            state
                .requests
                .insert(request.request_id.clone(), (request, Err(short.clone())));
            return Err(insufficient(&short));
        }
        for line in &request.lines {
            *state.available.get_mut(&line.product_id).unwrap() -= i64::from(line.quantity);
        }
        let id = format!("res-{}", state.reservations.len() + 1);
        let reservation = Reservation {
            id: id.clone(),
            lines: request.lines.clone(),
            state: ReservationState::Active as i32,
            expire_time: None,
            reference: request.reference.clone(),
            create_time: None,
            update_time: None,
        };
        state.reservations.insert(id.clone(), reservation.clone());
        state
            .requests
            .insert(request.request_id.clone(), (request, Ok(id)));
        Ok(Response::new(ReserveStockResponse {
            reservation: Some(reservation),
        }))
    }

    async fn commit_reservation(
        &self,
        request: Request<CommitReservationRequest>,
    ) -> Result<Response<CommitReservationResponse>, Status> {
        let delay = self.0.lock().commit_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.0.lock();
        if state.down {
            return Err(down());
        }
        let id = request.into_inner().reservation_id;
        let Some(mut reservation) = state.reservations.get(&id).cloned() else {
            return Err(Status::not_found("no such reservation"));
        };
        if state.expire_on_next_commit && reservation.state == ReservationState::Active as i32 {
            state.expire_on_next_commit = false;
            reservation.state = ReservationState::Expired as i32;
            for line in &reservation.lines {
                *state.available.entry(line.product_id.clone()).or_default() +=
                    i64::from(line.quantity);
            }
            state.reservations.insert(id, reservation);
            return Err(reason(Code::FailedPrecondition, "RESERVATION_EXPIRED"));
        }
        match ReservationState::try_from(reservation.state).unwrap() {
            ReservationState::Active => {
                reservation.state = ReservationState::Committed as i32;
                for line in &reservation.lines {
                    *state.sold.entry(line.product_id.clone()).or_default() +=
                        i64::from(line.quantity);
                }
                state.reservations.insert(id, reservation.clone());
            }
            ReservationState::Committed => {}
            ReservationState::Released => {
                return Err(reason(Code::FailedPrecondition, "RESERVATION_RELEASED"));
            }
            _ => return Err(reason(Code::FailedPrecondition, "RESERVATION_EXPIRED")),
        }
        Ok(Response::new(CommitReservationResponse {
            reservation: Some(reservation),
        }))
    }

    async fn release_reservation(
        &self,
        request: Request<ReleaseReservationRequest>,
    ) -> Result<Response<ReleaseReservationResponse>, Status> {
        let mut state = self.0.lock();
        if state.down {
            return Err(down());
        }
        let id = request.into_inner().reservation_id;
        let Some(mut reservation) = state.reservations.get(&id).cloned() else {
            return Err(Status::not_found("no such reservation"));
        };
        match ReservationState::try_from(reservation.state).unwrap() {
            ReservationState::Active => {
                reservation.state = ReservationState::Released as i32;
                for line in &reservation.lines {
                    *state.available.entry(line.product_id.clone()).or_default() +=
                        i64::from(line.quantity);
                }
                state.reservations.insert(id, reservation.clone());
            }
            ReservationState::Committed => {
                return Err(reason(Code::FailedPrecondition, "RESERVATION_COMMITTED"));
            }
            _ => {}
        }
        Ok(Response::new(ReleaseReservationResponse {
            reservation: Some(reservation),
        }))
    }

    async fn get_reservation(
        &self,
        _: Request<GetReservationRequest>,
    ) -> Result<Response<GetReservationResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn get_stock(
        &self,
        _: Request<GetStockRequest>,
    ) -> Result<Response<GetStockResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn batch_get_stock(
        &self,
        _: Request<BatchGetStockRequest>,
    ) -> Result<Response<BatchGetStockResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn restock(
        &self,
        _: Request<RestockRequest>,
    ) -> Result<Response<RestockResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }
}
