//! Cart: the caller's own cart, named by the access token only; line and quantity limits;
//! `request_id` idempotency of AddItem; the etag guard of EmptyCart; and the guest-cart
//! merge. Every check needs identity for tokens.
//!
//! One file per part of the contract: `callers` (whose cart a token names), `add_item`,
//! `set_item_quantity`, `remove_item`, `empty_cart` and `merge_guest_cart`. The calls they
//! all make to set the scene and read the result are here.

mod add_item;
mod callers;
mod empty_cart;
mod merge_guest_cart;
mod remove_item;
mod set_item_quantity;

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::cart::v1::*;
use tonic::transport::Channel;

use crate::Runner;
use crate::check::{Checked, ok};
use crate::shopper::Caller;
use crate::target::{Target, authorized, unique};

type Client = CartServiceClient<Channel>;

/// Runs every cart check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CartServiceClient::new(target.own());
    r.check(
        "every RPC without a token, or with a malformed or forged one, is UNAUTHENTICATED",
        callers::unauthenticated(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a new caller's cart is empty, with no update_time",
        callers::empty_at_first(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem adds to the product's line or appends a line; lines stay in first-added order",
        add_item::add(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem retried with the same request_id returns the first result and adds nothing",
        add_item::add_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: a request_id reused with other parameters is ALREADY_EXISTS REQUEST_ID_REUSED",
        add_item::add_reused(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: request ids are scoped to the caller",
        add_item::add_scoped(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem: malformed request_id or product_id, quantity outside 1..=99 are INVALID_ARGUMENT",
        add_item::add_invalid(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "AddItem past 99 units is FAILED_PRECONDITION LINE_QUANTITY_LIMIT, cart unchanged",
        add_item::line_limit(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a 101st line is FAILED_PRECONDITION CART_LINE_LIMIT (AddItem and SetItemQuantity)",
        add_item::cart_limit(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "SetItemQuantity sets, appends, and removes with 0; out of range is INVALID_ARGUMENT",
        set_item_quantity::set_quantity(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "RemoveItem removes a line and succeeds for a product not in the cart",
        remove_item::remove(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "EmptyCart with a stale etag is ABORTED ETAG_MISMATCH; with the current one it empties",
        empty_cart::empty(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "one caller's changes never show in another caller's cart",
        callers::isolated(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "MergeGuestCart adds guest lines, caps at 99, empties the guest cart, and is safe to retry",
        merge_guest_cart::merge(c.clone(), target.clone()),
    )
    .await;
    r.check("MergeGuestCart: a guest caller is FAILED_PRECONDITION CALLER_IS_GUEST; bad guest tokens INVALID_ARGUMENT", merge_guest_cart::merge_refused(c.clone(), target.clone())).await;
}

fn lines(cart: &Option<Cart>) -> Vec<(String, i32)> {
    cart.as_ref()
        .map(|c| {
            c.items
                .iter()
                .map(|i| (i.product_id.clone(), i.quantity))
                .collect()
        })
        .unwrap_or_default()
}

fn line(product: &str, quantity: i32) -> (String, i32) {
    (product.to_owned(), quantity)
}

async fn get(c: &mut Client, who: &Caller) -> Checked<Option<Cart>> {
    Ok(ok(
        c.get_cart(authorized(who.token(), GetCartRequest {})).await,
        "GetCart",
    )?
    .cart)
}

fn add_request(request_id: &str, product: &str, quantity: i32) -> AddItemRequest {
    AddItemRequest {
        request_id: request_id.to_owned(),
        product_id: product.to_owned(),
        quantity,
    }
}

async fn add_as(
    c: &mut Client,
    who: &Caller,
    product: &str,
    quantity: i32,
) -> Checked<Option<Cart>> {
    Ok(ok(
        c.add_item(authorized(
            who.token(),
            add_request(&unique("add"), product, quantity),
        ))
        .await,
        "AddItem",
    )?
    .cart)
}

async fn set_as(
    c: &mut Client,
    who: &Caller,
    product: &str,
    quantity: i32,
) -> Checked<Option<Cart>> {
    Ok(ok(
        c.set_item_quantity(authorized(
            who.token(),
            SetItemQuantityRequest {
                product_id: product.to_owned(),
                quantity,
            },
        ))
        .await,
        "SetItemQuantity",
    )?
    .cart)
}
