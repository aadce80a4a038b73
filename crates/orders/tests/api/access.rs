//! Who may see what, and what the contract refuses: a caller sees only its own orders,
//! bad fields are named, and calls without a valid token are UNAUTHENTICATED.

use bazaar_contract::orders::v1::*;
use chassis::testing::{TestIssuer, assert_invalid_argument, violated_fields};
use tonic::Code;

use crate::support::*;

async fn list(
    world: &World,
    user: &str,
    size: i32,
    token: &str,
) -> Result<ListOrdersResponse, tonic::Status> {
    world
        .client()
        .list_orders(authed(
            ListOrdersRequest {
                page_size: size,
                page_token: token.to_owned(),
            },
            &world.bearer(user),
        ))
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) async fn callers_see_only_their_own_orders_newest_first(backend: Backend) {
    let Some(world) = World::new(backend, "access").await else {
        return;
    };
    let mut placed = Vec::new();
    for request_id in ["r-1", "r-2", "r-3"] {
        world.doubles.cart.fill("user-a", &[("lamp", 1)]);
        placed.push(
            world
                .place("user-a", place_request(request_id, GOOD_CARD, ""))
                .await
                .unwrap(),
        );
    }
    // Another caller cannot tell these orders exist.
    let status = world.get("user-b", &placed[0].id).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        list(&world, "user-b", 0, "")
            .await
            .unwrap()
            .orders
            .is_empty()
    );
    assert_eq!(world.get("user-a", &placed[0].id).await.unwrap(), placed[0]);
    let status = world.get("user-a", "ord_nonexistent").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = world.get("user-a", "").await.unwrap_err();
    assert_invalid_argument(&status, &["order_id"]);

    // Newest first (create time, then id), two pages.
    let mut expected = placed.clone();
    expected.sort_by(|x, y| {
        let key = |o: &Order| {
            let t = o.create_time.unwrap();
            (t.seconds, t.nanos, o.id.clone())
        };
        key(y).cmp(&key(x))
    });
    let first = list(&world, "user-a", 2, "").await.unwrap();
    assert_eq!(first.orders, expected[..2]);
    assert!(!first.next_page_token.is_empty());
    let second = list(&world, "user-a", 2, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(second.orders, expected[2..]);
    assert!(second.next_page_token.is_empty());
    // Tokens are bound to their caller; bad sizes and tokens are named.
    let status = list(&world, "user-b", 2, &first.next_page_token)
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_token"]);
    let status = list(&world, "user-a", -1, "garbage").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size", "page_token"]);
    world.finish().await;
}

pub(crate) async fn bad_requests_name_their_fields(backend: Backend) {
    let Some(world) = World::new(backend, "bad_requests").await else {
        return;
    };
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let mut request = place_request("bad id!", "1234", "eur");
    request.email = "nope".to_owned();
    let address = request.shipping_address.as_mut().unwrap();
    address.street_lines = vec!["1 Main St".to_owned(), "  ".to_owned()];
    address.country_code = "USA".to_owned();
    request.card.as_mut().unwrap().cvv = "12".to_owned();
    let status = world.place("user-a", request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "request_id",
            "shipping_address.street_lines[1]",
            "shipping_address.country_code",
            "email",
            "card.number",
            "card.cvv",
            "currency_code"
        ]
    );
    let mut request = place_request("r-1", GOOD_CARD, "");
    request.shipping_address = None;
    request.card = None;
    request.email = String::new();
    let status = world.place("user-a", request).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["shipping_address", "email", "card"]
    );
    let mut request = place_request("r-1", GOOD_CARD, "");
    let card = request.card.as_mut().unwrap();
    card.expiry_month = 0;
    card.expiry_year = 99;
    card.holder_name = " ".to_owned();
    request.shipping_address.as_mut().unwrap().recipient_name = "x".repeat(101);
    let status = world.place("user-a", request).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "shipping_address.recipient_name",
            "card.expiry_month",
            "card.expiry_year",
            "card.holder_name"
        ]
    );
    assert_eq!(world.doubles.inventory.0.lock().reserve_calls, 0);
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 0);
    world.finish().await;
}

/// A request with `bearer` as its `authorization`, or none.
fn with<T>(bearer: &Option<String>, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(bearer) = bearer {
        request
            .metadata_mut()
            .insert("authorization", bearer.parse().unwrap());
    }
    request
}

pub(crate) async fn missing_expired_and_forged_tokens_are_refused(backend: Backend) {
    let Some(world) = World::new(backend, "tokens").await else {
        return;
    };
    world.doubles.cart.fill("user-a", &[("lamp", 1)]);
    let mut expired = world.issuer.claims("user-a");
    expired.iat -= 7200;
    expired.exp -= 7200;
    let forger = TestIssuer::new();
    let bad = [
        None,
        Some(format!("Bearer {}", world.issuer.token(&expired))),
        Some(forger.bearer("user-a")),
        Some("Bearer not-a-token".to_owned()),
    ];
    for bearer in bad {
        let mut client = world.client();
        let status = client
            .place_order(with(&bearer, place_request("r-1", GOOD_CARD, "")))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bearer:?}");
        let status = client
            .get_order(with(
                &bearer,
                GetOrderRequest {
                    order_id: "ord_x".to_owned(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bearer:?}");
        let status = client
            .list_orders(with(&bearer, ListOrdersRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bearer:?}");
    }
    assert_eq!(world.doubles.payment.0.lock().charge_calls, 0);
    world.finish().await;
}
