//! The gRPC face of shipping: parse the request, run the operation, shape the response.
//!
//! Handlers stay thin: every field is parsed into a domain type first (a bad one becomes an
//! `INVALID_ARGUMENT` naming it), and every failure goes through [`ShippingError`]'s single
//! mapping to a `Status`. No RPC reads a caller token: GetQuote is public, the rest are
//! internal (called by orders on the private network).

use std::sync::Arc;

use bazaar_contract::shipping::v1::{self as pb, shipping_service_server::ShippingService};
use bazaar_contract::values::calendar::timestamp;
use chassis::error::{AtField, Violations};
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};

use crate::clock::Clock;
use crate::domain::{self, Address, Items, Quote, ShipmentOrder};
use crate::error::ShippingError;
use crate::shipments::Shipments;
use crate::store::{ShipmentRecord, ShipmentStore};

/// The shipping service.
#[derive(Clone, Debug)]
pub struct ShippingApi {
    store: StoreCell<ShipmentStore>,
    clock: Arc<dyn Clock>,
}

impl ShippingApi {
    /// A service that answers from `store` once it is open, at the time of `clock`.
    pub fn new(store: StoreCell<ShipmentStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    fn shipments(&self) -> Result<Shipments, Status> {
        Ok(Shipments::new(
            self.store.get()?.clone(),
            self.clock.clone(),
        ))
    }
}

#[tonic::async_trait]
impl ShippingService for ShippingApi {
    #[tracing::instrument(skip_all, fields(items = request.get_ref().items.len()))]
    async fn get_quote(
        &self,
        request: Request<pb::GetQuoteRequest>,
    ) -> Result<Response<pb::GetQuoteResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let address = violations.check(Address::parse("address", request.address.as_ref()));
        let items = violations.check(Items::parse("items", &request.items));
        let (address, items) = violations
            .finish(|| Some((address?, items?)))
            .map_err(ShippingError::Invalid)?;
        Ok(Response::new(pb::GetQuoteResponse {
            quote: Some(quote_to_pb(Quote::of(&address, &items))),
        }))
    }

    #[tracing::instrument(skip_all, fields(
        request_id = %request.get_ref().request_id,
        order_id = %request.get_ref().order_id,
    ))]
    async fn create_shipment(
        &self,
        request: Request<pb::CreateShipmentRequest>,
    ) -> Result<Response<pb::CreateShipmentResponse>, Status> {
        let order = ShipmentOrder::parse(request.get_ref()).map_err(ShippingError::Invalid)?;
        let shipment = self.shipments()?.create(&order).await?;
        Ok(Response::new(pb::CreateShipmentResponse {
            shipment: Some(shipment_to_pb(shipment)),
        }))
    }

    #[tracing::instrument(skip_all, fields(shipment_id = %request.get_ref().shipment_id))]
    async fn cancel_shipment(
        &self,
        request: Request<pb::CancelShipmentRequest>,
    ) -> Result<Response<pb::CancelShipmentResponse>, Status> {
        let id = domain::lookup_id(&request.get_ref().shipment_id)
            .at("shipment_id")
            .map_err(ShippingError::from)?;
        let shipment = self.shipments()?.cancel(&id).await?;
        Ok(Response::new(pb::CancelShipmentResponse {
            shipment: Some(shipment_to_pb(shipment)),
        }))
    }

    #[tracing::instrument(skip_all, fields(shipment_id = %request.get_ref().shipment_id))]
    async fn get_shipment(
        &self,
        request: Request<pb::GetShipmentRequest>,
    ) -> Result<Response<pb::GetShipmentResponse>, Status> {
        let id = domain::lookup_id(&request.get_ref().shipment_id)
            .at("shipment_id")
            .map_err(ShippingError::from)?;
        let shipment = self.shipments()?.get(&id).await?;
        Ok(Response::new(pb::GetShipmentResponse {
            shipment: Some(shipment_to_pb(shipment)),
        }))
    }
}

fn quote_to_pb(quote: Quote) -> pb::Quote {
    pb::Quote {
        cost: Some(quote.cost()),
        estimated_delivery_days: quote.estimated_delivery_days,
    }
}

fn shipment_to_pb(record: ShipmentRecord) -> pb::Shipment {
    pb::Shipment {
        id: record.id,
        order_id: record.order_id,
        tracking_id: record.tracking_id,
        state: record.state.to_pb().into(),
        address: Some(record.address.to_pb()),
        items: record
            .items
            .iter()
            .map(domain::items::Item::to_pb)
            .collect(),
        quote: Some(quote_to_pb(record.quote)),
        create_time: Some(timestamp(record.create_time_ms)),
        update_time: Some(timestamp(record.update_time_ms)),
    }
}
