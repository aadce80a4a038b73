//! The gRPC face of payment: parse the request, run the ledger, shape the response.
//!
//! Handlers stay thin: every field is parsed into a domain type first (a bad one becomes an
//! `INVALID_ARGUMENT` naming it), and every failure goes through [`PaymentError`]'s single
//! mapping to a `Status`. The service is internal: no caller token is read. Requests are
//! never logged whole (they carry card data); spans carry ids only.

use std::sync::Arc;

use bazaar_contract::payment::v1::{self as pb, payment_service_server::PaymentService};
use bazaar_contract::values::calendar::timestamp;
use chassis::error::{AtField, Violations};
use chassis::page::{Paging, TimeAndId};
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::clock::Clock;
use crate::domain::{self, ChargeOrder, RequestId};
use crate::error::PaymentError;
use crate::ledger::Ledger;
use crate::store::{ChargeRecord, ChargeStore};

/// What separates the creation time from the charge id in a page position.
const POSITION_SEPARATOR: char = ':';

/// The payment service.
#[derive(Clone, Debug)]
pub struct PaymentApi {
    store: StoreCell<ChargeStore>,
    clock: Arc<dyn Clock>,
    lease_ms: i64,
}

impl PaymentApi {
    /// A service that answers from `store` once it is open, at the time of `clock`.
    pub fn new(store: StoreCell<ChargeStore>, clock: Arc<dyn Clock>, lease_ms: i64) -> Self {
        Self {
            store,
            clock,
            lease_ms,
        }
    }

    fn ledger(&self) -> Result<Ledger, Status> {
        let store = self.store.get()?.clone();
        Ok(Ledger::new(store, self.clock.clone(), self.lease_ms))
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    #[tracing::instrument(skip_all, fields(
        request_id = %request.get_ref().request_id,
        order_id = %request.get_ref().order_id,
    ))]
    async fn charge(
        &self,
        request: Request<pb::ChargeRequest>,
    ) -> Result<Response<pb::ChargeResponse>, Status> {
        let order = ChargeOrder::parse(request.get_ref()).map_err(PaymentError::Invalid)?;
        // The raw card goes no further than the parse above.
        drop(request);
        let ledger = self.ledger()?;
        // A task of its own, so a caller that hangs up does not leave a claim half done.
        let charge = tokio::spawn(async move { ledger.charge(order).await }.in_current_span())
            .await
            .map_err(|error| chassis::error::internal("charge", &error))??;
        Ok(Response::new(pb::ChargeResponse {
            charge: Some(charge_to_pb(charge)),
        }))
    }

    #[tracing::instrument(skip_all, fields(
        request_id = %request.get_ref().request_id,
        charge_id = %request.get_ref().charge_id,
    ))]
    async fn refund(
        &self,
        request: Request<pb::RefundRequest>,
    ) -> Result<Response<pb::RefundResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(&request.request_id).at("request_id"));
        let charge_id = violations.check(domain::lookup_id(&request.charge_id).at("charge_id"));
        let (request_id, charge_id) = violations
            .finish(|| Some((request_id?, charge_id?)))
            .map_err(PaymentError::Invalid)?;
        let charge = self.ledger()?.refund(&request_id, &charge_id).await?;
        Ok(Response::new(pb::RefundResponse {
            charge: Some(charge_to_pb(charge)),
        }))
    }

    #[tracing::instrument(skip_all, fields(charge_id = %request.get_ref().charge_id))]
    async fn get_charge(
        &self,
        request: Request<pb::GetChargeRequest>,
    ) -> Result<Response<pb::GetChargeResponse>, Status> {
        let charge_id = domain::lookup_id(&request.get_ref().charge_id)
            .at("charge_id")
            .map_err(PaymentError::from)?;
        let charge = self
            .store
            .get()?
            .get(&charge_id)
            .await?
            .ok_or(PaymentError::ChargeNotFound(charge_id))?;
        Ok(Response::new(pb::GetChargeResponse {
            charge: Some(charge_to_pb(charge)),
        }))
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn list_charges(
        &self,
        request: Request<pb::ListChargesRequest>,
    ) -> Result<Response<pb::ListChargesResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let paging = Paging::of(&["charges", &request.order_id]);
        // The position is the creation time and id of the last charge served.
        let page = paging.parse_with(&request, &mut violations, |position| {
            TimeAndId::decode(position, POSITION_SEPARATOR)
        });
        let page = violations.finish(|| page).map_err(PaymentError::Invalid)?;
        let order_id = (!request.order_id.is_empty()).then_some(request.order_id.as_str());
        // One more than asked tells whether another page follows.
        let mut charges = self
            .store
            .get()?
            .list(
                order_id,
                page.position.as_ref().map(TimeAndId::key),
                page.size + 1,
            )
            .await?;
        let next_page_token = paging.next_token(&mut charges, page.size, |c| {
            TimeAndId::encode(c.create_time_ms, &c.id, POSITION_SEPARATOR)
        });
        Ok(Response::new(pb::ListChargesResponse {
            charges: charges.into_iter().map(charge_to_pb).collect(),
            next_page_token,
        }))
    }
}

fn charge_to_pb(record: ChargeRecord) -> pb::Charge {
    pb::Charge {
        id: record.id,
        order_id: record.order_id,
        amount: Some(record.amount.to_money()),
        status: record.status.to_pb().into(),
        card_brand: record.card_brand.into(),
        card_last4: record.card_last4,
        decline_reason: record
            .decline_reason
            .map_or(pb::DeclineReason::Unspecified, domain::DeclineReason::to_pb)
            .into(),
        create_time: Some(timestamp(record.create_time_ms)),
        refund_time: record.refund_time_ms.map(timestamp),
    }
}
