//! The cart double: one cart per caller (from the token, as the real one), an etag that
//! changes with every change, and a record of every EmptyCart.

use std::collections::HashMap;

use bazaar_contract::cart::v1::cart_service_server::CartService;
use bazaar_contract::cart::v1::*;
use tonic::{Request, Response, Status};

use crate::{Shared, down};

/// What the cart double holds; tests fill it and read what checkout did to it.
#[derive(Debug, Default)]
pub struct CartState {
    /// The lines of each user's cart, by user id (the token's subject).
    pub carts: HashMap<String, Vec<CartItem>>,
    /// How many times each user's cart has changed; its etag is `v` and this number.
    pub versions: HashMap<String, u64>,
    /// (user, etag given) of every EmptyCart that emptied a cart.
    pub emptied: Vec<(String, String)>,
    /// Every call answers UNAVAILABLE.
    pub down: bool,
    /// How long each EmptyCart takes before it answers.
    pub empty_delay: std::time::Duration,
}

/// The double; clones share its state.
#[derive(Clone, Debug, Default)]
pub struct CartDouble(pub Shared<CartState>);

impl CartDouble {
    /// Replaces `user`'s cart.
    pub fn fill(&self, user: &str, lines: &[(&str, i32)]) {
        let mut state = self.0.lock();
        state.carts.insert(
            user.to_owned(),
            lines
                .iter()
                .map(|(id, quantity)| CartItem {
                    product_id: (*id).to_owned(),
                    quantity: *quantity,
                })
                .collect(),
        );
        *state.versions.entry(user.to_owned()).or_default() += 1;
    }

    /// The lines of `user`'s cart as it is now; none once emptied.
    pub fn lines(&self, user: &str) -> Vec<CartItem> {
        self.0.lock().carts.get(user).cloned().unwrap_or_default()
    }

    fn cart_of(state: &CartState, user: &str) -> Cart {
        Cart {
            items: state.carts.get(user).cloned().unwrap_or_default(),
            etag: format!("v{}", state.versions.get(user).copied().unwrap_or(0)),
            update_time: None,
        }
    }
}

#[tonic::async_trait]
impl CartService for CartDouble {
    async fn get_cart(
        &self,
        request: Request<GetCartRequest>,
    ) -> Result<Response<GetCartResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let state = self.0.lock();
        if state.down {
            return Err(down());
        }
        Ok(Response::new(GetCartResponse {
            cart: Some(Self::cart_of(&state, &caller.user_id)),
        }))
    }

    async fn empty_cart(
        &self,
        request: Request<EmptyCartRequest>,
    ) -> Result<Response<EmptyCartResponse>, Status> {
        let caller = chassis::auth::caller(&request)?;
        let delay = self.0.lock().empty_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.0.lock();
        if state.down {
            return Err(down());
        }
        let current = Self::cart_of(&state, &caller.user_id);
        let etag = request.get_ref().etag.clone();
        if !etag.is_empty() && etag != current.etag {
            return Err(chassis::error::with_reason(
                tonic::Code::Aborted,
                "bazaar.cart",
                "ETAG_MISMATCH",
                "the cart changed",
                [],
            ));
        }
        state.carts.remove(&caller.user_id);
        *state.versions.entry(caller.user_id.clone()).or_default() += 1;
        state.emptied.push((caller.user_id.clone(), etag));
        Ok(Response::new(EmptyCartResponse {
            cart: Some(Self::cart_of(&state, &caller.user_id)),
        }))
    }

    async fn add_item(
        &self,
        _: Request<AddItemRequest>,
    ) -> Result<Response<AddItemResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn set_item_quantity(
        &self,
        _: Request<SetItemQuantityRequest>,
    ) -> Result<Response<SetItemQuantityResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn remove_item(
        &self,
        _: Request<RemoveItemRequest>,
    ) -> Result<Response<RemoveItemResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn merge_guest_cart(
        &self,
        _: Request<MergeGuestCartRequest>,
    ) -> Result<Response<MergeGuestCartResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }
}
