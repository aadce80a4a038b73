//! The calls the suite makes, written once.

use bazaar_contract::cart::v1::*;
use tonic::Code;

use crate::support::{authed, error_info};

pub(crate) type Client = cart_service_client::CartServiceClient<tonic::transport::Channel>;

pub(crate) fn items(cart: &Cart) -> Vec<(String, i32)> {
    cart.items
        .iter()
        .map(|i| (i.product_id.clone(), i.quantity))
        .collect()
}

pub(crate) fn pairs(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect()
}

pub(crate) async fn add(
    client: &mut Client,
    who: &str,
    id: &str,
    product: &str,
    quantity: i32,
) -> Cart {
    try_add(client, who, id, product, quantity)
        .await
        .expect("AddItem")
}

pub(crate) async fn try_add(
    client: &mut Client,
    who: &str,
    id: &str,
    product: &str,
    quantity: i32,
) -> Result<Cart, tonic::Status> {
    let request = AddItemRequest {
        request_id: id.to_owned(),
        product_id: product.to_owned(),
        quantity,
    };
    Ok(client
        .add_item(authed(who, request))
        .await?
        .into_inner()
        .cart
        .expect("a cart"))
}

pub(crate) async fn set(client: &mut Client, who: &str, product: &str, quantity: i32) -> Cart {
    let request = SetItemQuantityRequest {
        product_id: product.to_owned(),
        quantity,
    };
    client
        .set_item_quantity(authed(who, request))
        .await
        .expect("SetItemQuantity")
        .into_inner()
        .cart
        .expect("a cart")
}

pub(crate) async fn get(client: &mut Client, who: &str) -> Cart {
    client
        .get_cart(authed(who, GetCartRequest {}))
        .await
        .expect("GetCart")
        .into_inner()
        .cart
        .expect("a cart")
}

pub(crate) async fn empty(
    client: &mut Client,
    who: &str,
    etag: &str,
) -> Result<Cart, tonic::Status> {
    let request = EmptyCartRequest {
        etag: etag.to_owned(),
    };
    Ok(client
        .empty_cart(authed(who, request))
        .await?
        .into_inner()
        .cart
        .expect("a cart"))
}

pub(crate) async fn merge(
    client: &mut Client,
    who: &str,
    guest_token: &str,
) -> Result<MergeGuestCartResponse, tonic::Status> {
    let request = MergeGuestCartRequest {
        guest_access_token: guest_token.to_owned(),
    };
    Ok(client
        .merge_guest_cart(authed(who, request))
        .await?
        .into_inner())
}

pub(crate) fn assert_reason(status: &tonic::Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let (domain, actual, _) = error_info(status);
    assert_eq!(domain, "bazaar.cart");
    assert_eq!(actual, reason);
}

pub(crate) fn request<T>(bearer: Option<&str>, message: T) -> tonic::Request<T> {
    match bearer {
        Some(bearer) => authed(bearer, message),
        None => tonic::Request::new(message),
    }
}
