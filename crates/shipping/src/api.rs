//! The gRPC face of shipping.

use bazaar_contract::shipping::v1::{self as pb, shipping_service_server::ShippingService};
use bazaar_contract::types::v1::{Address, Money};
use chassis::error::{FieldViolation, with_reason};
use chassis::store::StoreCell;
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Code, Request, Response, Status};

use crate::domain::{self, Quote};
use crate::store::{Inserted, ShipmentRecord, ShippingStore};

/// The ErrorInfo domain of shipping's errors.
pub const DOMAIN: &str = "bazaar.shipping";

/// What a shipping call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// No shipment has this id.
    #[error("shipment not found")]
    NotFound(String),
    /// The order has an active shipment already.
    #[error("order already shipped")]
    OrderShipped(String),
    /// The request id was used with other parameters.
    #[error("request id reused")]
    RequestIdReused,
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
    /// A fault of our own.
    #[error("{0}")]
    Internal(String),
}

impl From<ShippingError> for Status {
    fn from(error: ShippingError) -> Self {
        match error {
            ShippingError::Invalid(violations) => chassis::error::invalid_argument(violations),
            ShippingError::NotFound(id) => {
                chassis::error::not_found("bazaar.shipping.v1.Shipment", &id)
            }
            ShippingError::OrderShipped(existing) => with_reason(
                Code::AlreadyExists,
                DOMAIN,
                "ORDER_ALREADY_SHIPPED",
                "the order already has a shipment",
                [("shipment_id".to_owned(), existing)],
            ),
            ShippingError::RequestIdReused => with_reason(
                Code::AlreadyExists,
                DOMAIN,
                "REQUEST_ID_REUSED",
                "request_id was already used with different parameters",
                [],
            ),
            ShippingError::Store(error) => chassis::error::unavailable("shipping store", &error),
            ShippingError::Internal(message) => {
                tracing::error!(%message, "shipping fault");
                Status::internal("shipping: internal error")
            }
        }
    }
}

/// The shipping service.
#[derive(Clone, Debug)]
pub struct ShippingApi {
    store: StoreCell<ShippingStore>,
}

impl ShippingApi {
    /// A service that answers from `store` once it is open.
    pub fn new(store: StoreCell<ShippingStore>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl ShippingService for ShippingApi {
    #[tracing::instrument(skip_all)]
    async fn get_quote(
        &self,
        request: Request<pb::GetQuoteRequest>,
    ) -> Result<Response<pb::GetQuoteResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        let address = domain::address("address", request.address.as_ref(), &mut violations);
        let items = domain::items(&request.items, &mut violations);
        let (Some(address), Some(items)) = (address, items) else {
            return Err(ShippingError::Invalid(violations).into());
        };
        Ok(Response::new(pb::GetQuoteResponse {
            quote: Some(quote_to_pb(domain::quote(&address, &items))),
        }))
    }

    #[tracing::instrument(skip_all, fields(order = %request.get_ref().order_id))]
    async fn create_shipment(
        &self,
        request: Request<pb::CreateShipmentRequest>,
    ) -> Result<Response<pb::CreateShipmentResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        if !is_request_id(&request.request_id) {
            violations.push(FieldViolation::new(
                "request_id",
                "must be 1..=64 characters of [A-Za-z0-9_-]",
            ));
        }
        if request.order_id.is_empty() || request.order_id.chars().count() > 64 {
            violations.push(FieldViolation::new("order_id", "must be 1..=64 characters"));
        }
        let address = domain::address("address", request.address.as_ref(), &mut violations);
        let items = domain::items(&request.items, &mut violations);
        let (Some(address), Some(items), true) = (address, items, violations.is_empty()) else {
            return Err(ShippingError::Invalid(violations).into());
        };
        let store = self.store.get()?;
        let address_bytes = address.encode_to_vec();
        let items_bytes = pb::GetQuoteRequest {
            address: None,
            items: items.clone(),
        }
        .encode_to_vec();
        let fingerprint = fingerprint(&request.order_id, &address_bytes, &items_bytes);
        let quote = domain::quote(&address, &items);
        let now = now_ms();
        // A tracking id collision is astronomically unlikely; draw again a few times.
        for _ in 0..3 {
            let record = ShipmentRecord {
                id: format!("sh_{}", random_hex(16)?),
                request_id: request.request_id.clone(),
                fingerprint: fingerprint.clone(),
                order_id: request.order_id.clone(),
                tracking_id: tracking_id()?,
                state: "CREATED".to_owned(),
                address: address_bytes.clone(),
                items: items_bytes.clone(),
                cost_cents: quote.cost_cents,
                delivery_days: i64::from(quote.delivery_days),
                create_ms: now,
                update_ms: now,
            };
            let shipment = match store.insert(&record).await {
                Ok(Inserted::Created) => record,
                Ok(Inserted::SameRequest(existing)) if existing.fingerprint == fingerprint => {
                    existing
                }
                Ok(Inserted::SameRequest(_)) => return Err(ShippingError::RequestIdReused.into()),
                Ok(Inserted::OrderShipped(existing)) => {
                    return Err(ShippingError::OrderShipped(existing.id).into());
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(error) => return Err(ShippingError::Store(error).into()),
            };
            return Ok(Response::new(pb::CreateShipmentResponse {
                shipment: Some(shipment_to_pb(&shipment)?),
            }));
        }
        Err(ShippingError::Internal("could not draw a unique tracking id".into()).into())
    }

    #[tracing::instrument(skip_all, fields(shipment = %request.get_ref().shipment_id))]
    async fn cancel_shipment(
        &self,
        request: Request<pb::CancelShipmentRequest>,
    ) -> Result<Response<pb::CancelShipmentResponse>, Status> {
        let id = request.into_inner().shipment_id;
        let store = self.store.get()?;
        existing(store, &id).await?;
        store
            .cancel(&id, now_ms())
            .await
            .map_err(ShippingError::from)?;
        let shipment = existing(store, &id).await?;
        Ok(Response::new(pb::CancelShipmentResponse {
            shipment: Some(shipment_to_pb(&shipment)?),
        }))
    }

    #[tracing::instrument(skip_all, fields(shipment = %request.get_ref().shipment_id))]
    async fn get_shipment(
        &self,
        request: Request<pb::GetShipmentRequest>,
    ) -> Result<Response<pb::GetShipmentResponse>, Status> {
        let id = request.into_inner().shipment_id;
        let store = self.store.get()?;
        let shipment = existing(store, &id).await?;
        Ok(Response::new(pb::GetShipmentResponse {
            shipment: Some(shipment_to_pb(&shipment)?),
        }))
    }
}

async fn existing(store: &ShippingStore, id: &str) -> Result<ShipmentRecord, ShippingError> {
    if id.is_empty() {
        return Err(ShippingError::Invalid(vec![FieldViolation::new(
            "shipment_id",
            "is required",
        )]));
    }
    store
        .get(id)
        .await?
        .ok_or_else(|| ShippingError::NotFound(id.to_owned()))
}

fn is_request_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn fingerprint(order_id: &str, address: &[u8], items: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [order_id.as_bytes(), address, items] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ShippingError> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).map_err(|e| ShippingError::Internal(e.to_string()))?;
    Ok(bytes)
}

fn random_hex(n: usize) -> Result<String, ShippingError> {
    Ok(random_bytes(n)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// "BZ" and ten characters of A–Z and 0–9.
fn tracking_id() -> Result<String, ShippingError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let drawn: String = random_bytes(10)?
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("BZ{drawn}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn quote_to_pb(quote: Quote) -> pb::Quote {
    pb::Quote {
        cost: Some(Money {
            currency_code: "USD".to_owned(),
            units: quote.cost_cents / 100,
            nanos: ((quote.cost_cents % 100) * 10_000_000) as i32,
        }),
        estimated_delivery_days: quote.delivery_days,
    }
}

fn shipment_to_pb(record: &ShipmentRecord) -> Result<pb::Shipment, ShippingError> {
    let corrupt = |e: prost::DecodeError| ShippingError::Internal(format!("stored shipment: {e}"));
    let address = Address::decode(record.address.as_slice()).map_err(corrupt)?;
    let items = pb::GetQuoteRequest::decode(record.items.as_slice())
        .map_err(corrupt)?
        .items;
    Ok(pb::Shipment {
        id: record.id.clone(),
        order_id: record.order_id.clone(),
        tracking_id: record.tracking_id.clone(),
        state: if record.state == "CANCELLED" {
            pb::ShipmentState::Cancelled
        } else {
            pb::ShipmentState::Created
        } as i32,
        address: Some(address),
        items,
        quote: Some(quote_to_pb(Quote {
            cost_cents: record.cost_cents,
            delivery_days: record.delivery_days as i32,
        })),
        create_time: Some(timestamp(record.create_ms)),
        update_time: Some(timestamp(record.update_ms)),
    })
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}
