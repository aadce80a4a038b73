//! The shipping double: the quote formula of the contract, shipments idempotent on request
//! ids, one live shipment per order, and switches to fail the next N CreateShipment calls
//! or all of them with UNAVAILABLE, or to answer them slowly.

use std::collections::HashMap;

use bazaar_contract::shipping::v1::shipping_service_server::ShippingService;
use bazaar_contract::shipping::v1::*;
use tonic::{Code, Request, Response, Status};

use crate::{Shared, down, money};

/// The double's shipments, what it was asked and its switches.
#[derive(Debug, Default)]
pub struct ShippingState {
    /// Every shipment created, cancelled ones included, oldest first.
    pub shipments: Vec<Shipment>,
    /// request id → the id of the shipment that CreateShipment call made.
    pub requests: HashMap<String, String>,
    /// CreateShipment calls received, including retries and those failed on purpose.
    pub create_calls: usize,
    /// CreateShipment calls still to fail with UNAVAILABLE.
    pub fail_next: usize,
    /// Every CreateShipment fails with UNAVAILABLE.
    pub down: bool,
    /// GetQuote fails with UNAVAILABLE too.
    pub quotes_down: bool,
    /// How long each CreateShipment takes before it answers, as a slow shipping would.
    pub create_delay: std::time::Duration,
}

/// The double; clones share its state.
#[derive(Clone, Debug, Default)]
pub struct ShippingDouble(pub Shared<ShippingState>);

impl ShippingDouble {
    /// Shipments created and not cancelled.
    pub fn live_shipments(&self) -> Vec<Shipment> {
        self.0
            .lock()
            .shipments
            .iter()
            .filter(|s| s.state == ShipmentState::Created as i32)
            .cloned()
            .collect()
    }
}

fn quote(address: &bazaar_contract::types::v1::Address, items: &[ShipmentItem]) -> Quote {
    let units: i64 = items.iter().map(|i| i64::from(i.quantity)).sum();
    let mut cents = if units >= 10 { 0 } else { 499 + 99 * units };
    let domestic = address.country_code == "US";
    if !domestic {
        cents += 1000;
    }
    Quote {
        cost: Some(money("USD", &format!("{}.{:02}", cents / 100, cents % 100))),
        estimated_delivery_days: if domestic { 3 } else { 7 },
    }
}

#[tonic::async_trait]
impl ShippingService for ShippingDouble {
    async fn get_quote(
        &self,
        request: Request<GetQuoteRequest>,
    ) -> Result<Response<GetQuoteResponse>, Status> {
        if self.0.lock().quotes_down {
            return Err(down());
        }
        let request = request.into_inner();
        Ok(Response::new(GetQuoteResponse {
            quote: Some(quote(&request.address.unwrap(), &request.items)),
        }))
    }

    async fn create_shipment(
        &self,
        request: Request<CreateShipmentRequest>,
    ) -> Result<Response<CreateShipmentResponse>, Status> {
        let request = request.into_inner();
        let delay = {
            let mut state = self.0.lock();
            state.create_calls += 1;
            state.create_delay
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.0.lock();
        if state.down {
            return Err(down());
        }
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(down());
        }
        if let Some(id) = state.requests.get(&request.request_id) {
            let shipment = state.shipments.iter().find(|s| &s.id == id).unwrap();
            return Ok(Response::new(CreateShipmentResponse {
                shipment: Some(shipment.clone()),
            }));
        }
        if let Some(existing) = state
            .shipments
            .iter()
            .find(|s| s.order_id == request.order_id && s.state == ShipmentState::Created as i32)
        {
            return Err(chassis::error::with_reason(
                Code::AlreadyExists,
                "bazaar.shipping",
                "ORDER_ALREADY_SHIPPED",
                "already shipped",
                [("shipment_id".to_owned(), existing.id.clone())],
            ));
        }
        let number = state.shipments.len() + 1;
        let address = request.address.unwrap();
        let shipment = Shipment {
            id: format!("sh-{number}"),
            order_id: request.order_id.clone(),
            tracking_id: format!("BZTRACK{number:04}"),
            state: ShipmentState::Created as i32,
            quote: Some(quote(&address, &request.items)),
            address: Some(address),
            items: request.items,
            create_time: None,
            update_time: None,
        };
        state.shipments.push(shipment.clone());
        state
            .requests
            .insert(request.request_id, shipment.id.clone());
        Ok(Response::new(CreateShipmentResponse {
            shipment: Some(shipment),
        }))
    }

    async fn cancel_shipment(
        &self,
        request: Request<CancelShipmentRequest>,
    ) -> Result<Response<CancelShipmentResponse>, Status> {
        let mut state = self.0.lock();
        let Some(shipment) = state
            .shipments
            .iter_mut()
            .find(|s| s.id == request.get_ref().shipment_id)
        else {
            return Err(Status::not_found("no such shipment"));
        };
        shipment.state = ShipmentState::Cancelled as i32;
        Ok(Response::new(CancelShipmentResponse {
            shipment: Some(shipment.clone()),
        }))
    }

    async fn get_shipment(
        &self,
        request: Request<GetShipmentRequest>,
    ) -> Result<Response<GetShipmentResponse>, Status> {
        let state = self.0.lock();
        let shipment = state
            .shipments
            .iter()
            .find(|s| s.id == request.get_ref().shipment_id)
            .cloned()
            .ok_or_else(|| Status::not_found("no such shipment"))?;
        Ok(Response::new(GetShipmentResponse {
            shipment: Some(shipment),
        }))
    }
}
