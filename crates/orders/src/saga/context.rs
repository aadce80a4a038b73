//! What every step of the saga works with and answers, shared by the forward steps
//! ([`super::steps`]) and the compensations ([`super::compensation`]), so that neither needs
//! the other or the engine ([`super`]).

use bazaar_contract::orders::v1::OrderEventType;
use bazaar_contract::payment::v1::{ChargeStatus as PbChargeStatus, ListChargesRequest};
use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};

use crate::clients::{Clients, describe};
use crate::config::Timing;
use crate::domain::{CardInput, OrderRecord};

/// What a saga needs but never stores: the card to charge and the shopper's token to
/// empty the cart.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The card, until charged.
    pub card: Option<CardInput>,
    /// The `authorization` metadata of the PlaceOrder call.
    pub authorization: Option<MetadataValue<Ascii>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("card", &self.card.as_ref().map(|_| "<redacted>"))
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What a step's run means for the order.
#[derive(Debug)]
pub enum Outcome {
    /// Store this order (and write this event) and go on from its step.
    Next(Box<OrderRecord>, Option<OrderEventType>),
    /// Try the same step again later, for this reason.
    Retry(String),
}

/// What a step may use.
#[derive(Debug)]
pub struct StepContext<'a> {
    /// The services.
    pub clients: &'a Clients,
    /// Now, in ms since the epoch.
    pub now_ms: i64,
    /// The saga's settings.
    pub timing: &'a Timing,
    /// The card and token, when this process took the order.
    pub secrets: &'a Secrets,
}

/// Try the same step again later: a technical failure of `service`.
pub fn retry(service: &str, status: &Status) -> Outcome {
    if !crate::clients::is_transient(status) {
        // Not a failure a retry cures by itself; retried anyway, slowly, because giving up
        // here could leave money charged or stock held. It needs an operator.
        tracing::error!(problem = %describe(service, status), "unexpected answer in a checkout");
    }
    Outcome::Retry(describe(service, status))
}

/// The order's own charge at payment, if there is one: a successful charge of the order
/// for exactly its total ([`OrderRecord::check_charge`]). Other charges listed for the
/// order id (made by someone else) are logged and never taken for the order's.
pub async fn find_charge(
    cx: &StepContext<'_>,
    order: &OrderRecord,
) -> Result<Option<String>, Outcome> {
    let mut page_token = String::new();
    loop {
        let page = cx
            .clients
            .payment
            .clone()
            .list_charges(ListChargesRequest {
                page_size: 100,
                page_token,
                order_id: order.id.clone(),
            })
            .await
            .map_err(|status| retry("payment", &status))?
            .into_inner();
        for charge in page
            .charges
            .iter()
            .filter(|c| c.status == PbChargeStatus::Succeeded as i32)
        {
            match order.check_charge(charge) {
                Ok(()) => return Ok(Some(charge.id.clone())),
                Err(mismatch) => tracing::warn!(order_id = %order.id, %mismatch,
                    "a charge of the order that its checkout did not make; not taken"),
            }
        }
        if page.next_page_token.is_empty() {
            return Ok(None);
        }
        page_token = page.next_page_token;
    }
}
