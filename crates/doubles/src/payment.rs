//! The payment double: a ledger of charges, idempotent on request ids, at most one
//! successful charge per order, card 4000000000000002 declined, and a switch that makes
//! every Charge fail with UNAVAILABLE without recording anything (as the contract's
//! processing-error card does).

use std::collections::HashMap;

use bazaar_contract::payment::v1::payment_service_server::PaymentService;
use bazaar_contract::payment::v1::*;
use tonic::{Code, Request, Response, Status};

use crate::{Shared, down};

/// The card number every Charge declines (DECLINE_REASON_GENERIC), as the real service's
/// test card does; any other card is charged.
pub const DECLINED_CARD: &str = "4000000000000002";
/// The message of the CARD_DECLINED error, which orders shows its shopper.
pub const DECLINE_MESSAGE: &str = "Your card was declined.";

/// The double's ledger, what it was asked and its switch.
#[derive(Debug, Default)]
pub struct PaymentState {
    /// Every charge made (`ch-1`, `ch-2`, ...), declined ones included, oldest first.
    pub charges: Vec<Charge>,
    /// request id → (order id, amount, card number and CVV as one text) and the charge it
    /// made.
    pub requests: HashMap<String, ((String, String), String)>,
    /// Charge calls received, including retries and those failed on purpose.
    pub charge_calls: usize,
    /// Refund calls received, including those refused.
    pub refund_calls: usize,
    /// ListCharges calls received.
    pub list_calls: usize,
    /// Every Charge fails with UNAVAILABLE (a processing error), nothing recorded; the
    /// other calls still work.
    pub charge_unavailable: bool,
    /// How long each Charge takes before it answers, as a slow payment would.
    pub charge_delay: std::time::Duration,
}

/// The double; clones share its state.
#[derive(Clone, Debug, Default)]
pub struct PaymentDouble(pub Shared<PaymentState>);

impl PaymentDouble {
    /// Charges with this status.
    pub fn with_status(&self, status: ChargeStatus) -> Vec<Charge> {
        self.0
            .lock()
            .charges
            .iter()
            .filter(|c| c.status == status as i32)
            .cloned()
            .collect()
    }
}

fn declined(charge_id: &str) -> Status {
    chassis::error::with_reason(
        Code::FailedPrecondition,
        "bazaar.payment",
        "CARD_DECLINED",
        DECLINE_MESSAGE,
        [
            ("charge_id".to_owned(), charge_id.to_owned()),
            (
                "decline_reason".to_owned(),
                "DECLINE_REASON_GENERIC".to_owned(),
            ),
        ],
    )
}

#[tonic::async_trait]
impl PaymentService for PaymentDouble {
    async fn charge(
        &self,
        request: Request<ChargeRequest>,
    ) -> Result<Response<ChargeResponse>, Status> {
        let request = request.into_inner();
        let delay = self.0.lock().charge_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.0.lock();
        state.charge_calls += 1;
        if state.charge_unavailable {
            return Err(down());
        }
        assert!(!request.request_id.is_empty() && request.request_id.len() <= 64);
        let card = request.card.clone().unwrap();
        let amount = request.amount.clone().unwrap();
        assert!(
            amount.units > 0 || amount.nanos > 0,
            "positive amounts only"
        );
        let params = (
            request.order_id.clone(),
            format!("{amount:?}|{}|{}", card.number, card.cvv),
        );
        if let Some((first, charge_id)) = state.requests.get(&request.request_id) {
            if *first != params {
                return Err(chassis::error::with_reason(
                    Code::AlreadyExists,
                    "bazaar.payment",
                    "REQUEST_ID_REUSED",
                    "reused",
                    [],
                ));
            }
            let charge = state.charges.iter().find(|c| &c.id == charge_id).unwrap();
            if charge.status == ChargeStatus::Declined as i32 {
                return Err(declined(charge_id));
            }
            return Ok(Response::new(ChargeResponse {
                charge: Some(charge.clone()),
            }));
        }
        if let Some(existing) = state
            .charges
            .iter()
            .find(|c| c.order_id == request.order_id && c.status != ChargeStatus::Declined as i32)
        {
            return Err(chassis::error::with_reason(
                Code::AlreadyExists,
                "bazaar.payment",
                "ORDER_ALREADY_CHARGED",
                "already charged",
                [("charge_id".to_owned(), existing.id.clone())],
            ));
        }
        let id = format!("ch-{}", state.charges.len() + 1);
        let decline = card.number == DECLINED_CARD;
        let charge = Charge {
            id: id.clone(),
            order_id: request.order_id.clone(),
            amount: Some(amount),
            status: if decline {
                ChargeStatus::Declined as i32
            } else {
                ChargeStatus::Succeeded as i32
            },
            card_brand: CardBrand::Visa as i32,
            card_last4: card.number[card.number.len() - 4..].to_owned(),
            decline_reason: if decline {
                DeclineReason::Generic as i32
            } else {
                DeclineReason::Unspecified as i32
            },
            create_time: None,
            refund_time: None,
        };
        state.charges.push(charge.clone());
        state
            .requests
            .insert(request.request_id.clone(), (params, id.clone()));
        if decline {
            return Err(declined(&id));
        }
        Ok(Response::new(ChargeResponse {
            charge: Some(charge),
        }))
    }

    async fn refund(
        &self,
        request: Request<RefundRequest>,
    ) -> Result<Response<RefundResponse>, Status> {
        let request = request.into_inner();
        let mut state = self.0.lock();
        state.refund_calls += 1;
        let Some(charge) = state.charges.iter_mut().find(|c| c.id == request.charge_id) else {
            return Err(Status::not_found("no such charge"));
        };
        if charge.status == ChargeStatus::Declined as i32 {
            return Err(chassis::error::with_reason(
                Code::FailedPrecondition,
                "bazaar.payment",
                "CHARGE_NOT_REFUNDABLE",
                "declined",
                [],
            ));
        }
        charge.status = ChargeStatus::Refunded as i32;
        Ok(Response::new(RefundResponse {
            charge: Some(charge.clone()),
        }))
    }

    async fn get_charge(
        &self,
        request: Request<GetChargeRequest>,
    ) -> Result<Response<GetChargeResponse>, Status> {
        let state = self.0.lock();
        let charge = state
            .charges
            .iter()
            .find(|c| c.id == request.get_ref().charge_id)
            .cloned()
            .ok_or_else(|| Status::not_found("no such charge"))?;
        Ok(Response::new(GetChargeResponse {
            charge: Some(charge),
        }))
    }

    async fn list_charges(
        &self,
        request: Request<ListChargesRequest>,
    ) -> Result<Response<ListChargesResponse>, Status> {
        let mut state = self.0.lock();
        state.list_calls += 1;
        let order_id = &request.get_ref().order_id;
        Ok(Response::new(ListChargesResponse {
            charges: state
                .charges
                .iter()
                .filter(|c| order_id.is_empty() || &c.order_id == order_id)
                .cloned()
                .collect(),
            next_page_token: String::new(),
        }))
    }
}
