//! The cart operations: read, decide with the domain's rules, commit if nothing changed in
//! between, otherwise read again.
//!
//! Written once over [`CartStore`], so every backend behaves alike. AddItem commits its
//! `request_id` record in the same atomic write as the cart, so a retry always finds
//! either nothing (and adds) or the record (and replays it) — never a half-done call.
//! Because that write is atomic there is no "still in progress" state to observe: two
//! concurrent calls with the same id are ordered by the commit, and the loser replays the
//! winner's result.

use crate::clock::Clock;
use crate::domain::{Cart, ProductId, Quantity, RequestId};
use crate::error::CartError;
use crate::store::{CartStore, CartWrite, Commit, Outcome, RequestRecord, RequestWrite};

/// How many times a change is tried against concurrent changes before giving up with
/// `ABORTED`.
const MAX_ATTEMPTS: usize = 32;

/// The operations on carts, over one store and one clock.
#[derive(Clone, Copy)]
pub struct Carts<'a> {
    store: &'a dyn CartStore,
    clock: &'a dyn Clock,
    retention_ms: i64,
}

impl<'a> Carts<'a> {
    /// Operations on `store`, reading time from `clock`, remembering AddItem request ids
    /// for `retention_ms`.
    pub fn new(store: &'a dyn CartStore, clock: &'a dyn Clock, retention_ms: i64) -> Self {
        Self {
            store,
            clock,
            retention_ms,
        }
    }

    /// The cart of `owner`.
    pub async fn get(&self, owner: &str) -> Result<Cart, CartError> {
        self.store.cart(owner).await
    }

    /// Applies `change` to `owner`'s cart; `change` says whether it altered anything (only
    /// then is the cart written and its version bumped).
    pub async fn change(
        &self,
        owner: &str,
        change: impl Fn(&mut Cart) -> Result<bool, CartError>,
    ) -> Result<Cart, CartError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut cart = self.store.cart(owner).await?;
            let expected_version = cart.version;
            if !change(&mut cart)? {
                return Ok(cart);
            }
            let now_ms = self.clock.now_ms();
            cart.touch(now_ms);
            let commit = Commit {
                carts: vec![CartWrite {
                    owner: owner.to_owned(),
                    expected_version,
                    cart: cart.clone(),
                }],
                request: None,
                now_ms,
            };
            if self.store.commit(&commit).await? {
                return Ok(cart);
            }
        }
        Err(CartError::Contended)
    }

    /// Adds `quantity` of `product` once per `request_id`: a retry with the same
    /// parameters replays the first result, other parameters are refused.
    pub async fn add(
        &self,
        owner: &str,
        request_id: &RequestId,
        product: &ProductId,
        quantity: Quantity,
    ) -> Result<Cart, CartError> {
        let fingerprint = format!("{} {}", product.as_str(), quantity.get());
        for _ in 0..MAX_ATTEMPTS {
            let now_ms = self.clock.now_ms();
            let previous = self.store.request(owner, request_id.as_str()).await?;
            if let Some(record) = &previous
                && record.expires_at_ms > now_ms
            {
                if record.fingerprint != fingerprint {
                    return Err(CartError::RequestIdReused);
                }
                return into_result(record.outcome.clone());
            }
            let mut cart = self.store.cart(owner).await?;
            let expected_version = cart.version;
            let mut carts = Vec::new();
            let outcome = match cart.add(product, quantity) {
                Ok(()) => {
                    cart.touch(now_ms);
                    carts.push(CartWrite {
                        owner: owner.to_owned(),
                        expected_version,
                        cart: cart.clone(),
                    });
                    Outcome::Added(cart)
                }
                Err(rejection) => Outcome::Rejected(rejection),
            };
            let previous_version = previous.map_or(0, |r| r.version);
            let commit = Commit {
                carts,
                request: Some(RequestWrite {
                    owner: owner.to_owned(),
                    request_id: request_id.as_str().to_owned(),
                    expected_version: previous_version,
                    record: RequestRecord {
                        version: previous_version + 1,
                        fingerprint: fingerprint.clone(),
                        outcome: outcome.clone(),
                        expires_at_ms: now_ms.saturating_add(self.retention_ms),
                    },
                }),
                now_ms,
            };
            if self.store.commit(&commit).await? {
                return into_result(outcome);
            }
        }
        Err(CartError::Contended)
    }

    /// Moves `guest`'s lines into `user`'s cart and empties the guest's cart, in one
    /// atomic write. Returns the user's cart and the products not (fully) merged.
    pub async fn merge(&self, guest: &str, user: &str) -> Result<(Cart, Vec<String>), CartError> {
        for _ in 0..MAX_ATTEMPTS {
            let guest_cart = self.store.cart(guest).await?;
            let mut cart = self.store.cart(user).await?;
            if guest_cart.lines.is_empty() {
                return Ok((cart, Vec::new()));
            }
            let now_ms = self.clock.now_ms();
            let (changed, truncated) = cart.merge(&guest_cart.lines);
            let mut emptied = guest_cart.clone();
            emptied.clear();
            emptied.touch(now_ms);
            let mut carts = vec![CartWrite {
                owner: guest.to_owned(),
                expected_version: guest_cart.version,
                cart: emptied,
            }];
            if changed {
                let expected_version = cart.version;
                cart.touch(now_ms);
                carts.push(CartWrite {
                    owner: user.to_owned(),
                    expected_version,
                    cart: cart.clone(),
                });
            }
            let commit = Commit {
                carts,
                request: None,
                now_ms,
            };
            if self.store.commit(&commit).await? {
                return Ok((cart, truncated));
            }
        }
        Err(CartError::Contended)
    }
}

fn into_result(outcome: Outcome) -> Result<Cart, CartError> {
    match outcome {
        Outcome::Added(cart) => Ok(cart),
        Outcome::Rejected(rejection) => Err(rejection.into()),
    }
}
