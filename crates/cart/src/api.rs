//! The gRPC face of the cart: who is calling, parse the request, apply, shape the response.
//!
//! Every RPC acts on the cart of the verified caller ([`chassis::auth::caller`]); no
//! request field ever names whose cart it is. Fields are parsed into domain types first
//! (a bad one becomes `INVALID_ARGUMENT` naming it) and every failure goes through
//! [`CartError`]'s single mapping to a `Status`.

use std::sync::Arc;

use bazaar_contract::cart::v1::{self as pb, cart_service_server::CartService};
use bazaar_contract::values::calendar::timestamp;
use chassis::auth::{CallerKind, Verifier};
use chassis::error::{AtField, FieldViolation, Violations};
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};

use crate::carts::Carts;
use crate::clock::Clock;
use crate::domain::{Cart, NewQuantity, ProductId, Quantity, RequestId};
use crate::error::CartError;
use crate::store::SharedStore;

/// The cart service.
#[derive(Clone, Debug)]
pub struct CartApi {
    store: StoreCell<SharedStore>,
    clock: Arc<dyn Clock>,
    verifier: Verifier,
    retention_ms: i64,
}

impl CartApi {
    /// A service that answers from `store` once it is open, reading time from `clock`;
    /// `verifier` (the server's own) checks the guest tokens given to MergeGuestCart;
    /// AddItem request ids are remembered for `retention_ms`.
    pub fn new(
        store: StoreCell<SharedStore>,
        clock: Arc<dyn Clock>,
        verifier: Verifier,
        retention_ms: i64,
    ) -> Self {
        Self {
            store,
            clock,
            verifier,
            retention_ms,
        }
    }

    fn carts(&self) -> Result<Carts<'_>, Status> {
        Ok(Carts::new(
            self.store.get()?.as_ref(),
            self.clock.as_ref(),
            self.retention_ms,
        ))
    }
}

/// The contract's view of a cart.
fn cart_to_pb(cart: Cart) -> pb::Cart {
    pb::Cart {
        etag: cart.etag(),
        update_time: cart.update_time_ms.map(timestamp),
        items: cart
            .lines
            .into_iter()
            .map(|line| pb::CartItem {
                product_id: line.product_id,
                // Quantities are 1..=99 by construction.
                quantity: line.quantity as i32,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl CartService for CartApi {
    #[tracing::instrument(skip_all)]
    async fn get_cart(
        &self,
        request: Request<pb::GetCartRequest>,
    ) -> Result<Response<pb::GetCartResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let cart = self.carts()?.get(&caller.user_id).await?;
        Ok(Response::new(pb::GetCartResponse {
            cart: Some(cart_to_pb(cart)),
        }))
    }

    #[tracing::instrument(skip_all, fields(product = %request.get_ref().product_id,
        quantity = request.get_ref().quantity))]
    async fn add_item(
        &self,
        request: Request<pb::AddItemRequest>,
    ) -> Result<Response<pb::AddItemResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(&request.request_id).at("request_id"));
        let product = violations.check(ProductId::parse(&request.product_id).at("product_id"));
        let quantity = violations.check(Quantity::parse("quantity", request.quantity));
        let (request_id, product, quantity) = violations
            .finish(|| Some((request_id?, product?, quantity?)))
            .map_err(CartError::Invalid)?;
        let cart = self
            .carts()?
            .add(&caller.user_id, &request_id, &product, quantity)
            .await?;
        Ok(Response::new(pb::AddItemResponse {
            cart: Some(cart_to_pb(cart)),
        }))
    }

    #[tracing::instrument(skip_all, fields(product = %request.get_ref().product_id,
        quantity = request.get_ref().quantity))]
    async fn set_item_quantity(
        &self,
        request: Request<pb::SetItemQuantityRequest>,
    ) -> Result<Response<pb::SetItemQuantityResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let product = violations.check(ProductId::parse(&request.product_id).at("product_id"));
        let quantity = violations.check(NewQuantity::parse("quantity", request.quantity));
        let (product, quantity) = violations
            .finish(|| Some((product?, quantity?)))
            .map_err(CartError::Invalid)?;
        let cart = self
            .carts()?
            .change(&caller.user_id, |cart| Ok(cart.set(&product, quantity)?))
            .await?;
        Ok(Response::new(pb::SetItemQuantityResponse {
            cart: Some(cart_to_pb(cart)),
        }))
    }

    #[tracing::instrument(skip_all, fields(product = %request.get_ref().product_id))]
    async fn remove_item(
        &self,
        request: Request<pb::RemoveItemRequest>,
    ) -> Result<Response<pb::RemoveItemResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let product = ProductId::parse(&request.get_ref().product_id)
            .at("product_id")
            .map_err(CartError::from)?;
        let cart = self
            .carts()?
            .change(&caller.user_id, |cart| Ok(cart.remove(&product)))
            .await?;
        Ok(Response::new(pb::RemoveItemResponse {
            cart: Some(cart_to_pb(cart)),
        }))
    }

    #[tracing::instrument(skip_all, fields(etag = %request.get_ref().etag))]
    async fn empty_cart(
        &self,
        request: Request<pb::EmptyCartRequest>,
    ) -> Result<Response<pb::EmptyCartResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let etag = request.into_inner().etag;
        let cart = self
            .carts()?
            .change(&caller.user_id, |cart| {
                if !etag.is_empty() && etag != cart.etag() {
                    return Err(CartError::EtagMismatch);
                }
                Ok(cart.clear())
            })
            .await?;
        Ok(Response::new(pb::EmptyCartResponse {
            cart: Some(cart_to_pb(cart)),
        }))
    }

    // The guest token is a secret: it is never a field of the span.
    #[tracing::instrument(skip_all)]
    async fn merge_guest_cart(
        &self,
        request: Request<pb::MergeGuestCartRequest>,
    ) -> Result<Response<pb::MergeGuestCartResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        if caller.kind == CallerKind::Guest {
            return Err(CartError::CallerIsGuest.into());
        }
        let token = request.into_inner().guest_access_token;
        let field = "guest_access_token";
        let guest = if token.is_empty() {
            Err(FieldViolation::new(field, "is required"))
        } else {
            match self.verifier.verify(&token).await {
                Err(error) => Err(FieldViolation::new(
                    field,
                    format!("is not a valid access token: {error}"),
                )),
                Ok(guest) if guest.kind != CallerKind::Guest => {
                    Err(FieldViolation::new(field, "is not a guest's access token"))
                }
                Ok(guest) if guest.user_id == caller.user_id => {
                    Err(FieldViolation::new(field, "is the caller's own token"))
                }
                Ok(guest) => Ok(guest),
            }
        }
        .map_err(CartError::from)?;
        let (cart, truncated) = self.carts()?.merge(&guest.user_id, &caller.user_id).await?;
        tracing::info!(truncated = truncated.len(), "guest cart merged");
        Ok(Response::new(pb::MergeGuestCartResponse {
            cart: Some(cart_to_pb(cart)),
            truncated_product_ids: truncated,
        }))
    }
}
