//! The recommendation service through its contract, learning from an orders double and
//! reading categories from a catalog double, over real gRPC.

use std::collections::HashSet;
use std::net::SocketAddr;

use bazaar_contract::orders::v1::OrderEventType;
use chassis::testing::{assert_invalid_argument, violated_fields};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

const ANY_PORT: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

#[tokio::test]
async fn an_empty_history_recommends_from_the_catalog() {
    let orders = OrdersDouble::default();
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let running = Running::start(orders_serving.addr, catalog_serving.addr).await;
    assert_eq!(running.health().await, ServingStatus::Serving);

    assert_eq!(
        running.all(&["kettle"], 20).await,
        expect(&[("mug", CATEGORY), ("pan", CATEGORY), ("teapot", CATEGORY)])
    );
    // A context product shares both its categories; none of the context comes back, and
    // an id the catalog does not know adds nothing.
    assert_eq!(
        running
            .all(&["mug", "no-such-product", "kettle", "mug"], 20)
            .await,
        expect(&[
            ("lamp", CATEGORY),
            ("pan", CATEGORY),
            ("pen", CATEGORY),
            ("stapler", CATEGORY),
            ("teapot", CATEGORY),
        ])
    );
    assert!(catalog.listed().contains(&"office".to_owned()));
    // The default page is 5.
    let page = running.list(&["mug"], 0, "").await.unwrap();
    assert_eq!(page.recommendations.len(), 5);
    assert!(!page.next_page_token.is_empty());
    let rest = running
        .list(&["mug"], 0, &page.next_page_token)
        .await
        .unwrap();
    assert_eq!(listed(&rest), expect(&[("teapot", CATEGORY)]));
    assert!(rest.next_page_token.is_empty());
    // Nothing to go on: nothing to say.
    for context in [&[][..], &["no-such-product"][..], &["tent"][..]] {
        let page = running.list(context, 0, "").await.unwrap();
        assert!(page.recommendations.is_empty(), "{context:?}");
        assert!(page.next_page_token.is_empty());
    }

    running.stop().await;
    catalog_serving.stop().await;
    orders_serving.stop().await;
}

#[tokio::test]
async fn bought_together_comes_first_then_category_then_best_sellers() {
    let orders = OrdersDouble::default();
    history(&orders);
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let running = Running::start(orders_serving.addr, catalog_serving.addr).await;
    running.wait_until_sold("tent").await;

    let ranked = expect(&[
        ("mug", TOGETHER),
        ("stapler", TOGETHER),
        ("pan", CATEGORY),
        ("teapot", CATEGORY),
        ("tent", POPULAR),
    ]);
    assert_eq!(running.all(&["kettle"], 20).await, ranked);
    // Page after page, the same listing, each product once.
    assert_eq!(running.all(&["kettle"], 2).await, ranked);
    // Unknown and repeated context ids change nothing.
    assert_eq!(
        running
            .all(&["kettle", "no-such-product", "kettle"], 20)
            .await,
        ranked
    );
    // Without context, best sellers only, by units sold.
    assert_eq!(
        running.all(&[], 20).await,
        expect(&[
            ("tent", POPULAR),
            ("kettle", POPULAR),
            ("mug", POPULAR),
            ("stapler", POPULAR),
        ])
    );
    // Two context products: their co-purchases add up, and neither is recommended.
    let both = running.all(&["stapler", "mug"], 20).await;
    assert_eq!(both[0], ("kettle".to_owned(), TOGETHER));
    let products: Vec<_> = both.iter().map(|(p, _)| p.as_str()).collect();
    assert!(!products.contains(&"mug") && !products.contains(&"stapler"));
    let unique: HashSet<_> = products.iter().collect();
    assert_eq!(unique.len(), products.len());

    running.stop().await;
    catalog_serving.stop().await;
    orders_serving.stop().await;
}

#[tokio::test]
async fn with_the_catalog_down_it_answers_from_history() {
    let orders = OrdersDouble::default();
    history(&orders);
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let running = Running::start(orders_serving.addr, free_port()).await;
    running.wait_until_sold("tent").await;

    assert_eq!(
        running.all(&["kettle"], 20).await,
        expect(&[("mug", TOGETHER), ("stapler", TOGETHER), ("tent", POPULAR)])
    );
    assert_eq!(running.health().await, ServingStatus::Serving);

    running.stop().await;
    orders_serving.stop().await;
}

#[tokio::test]
async fn a_listing_that_showed_categories_ends_if_the_catalog_goes_away() {
    let orders = OrdersDouble::default();
    history(&orders);
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let running = Running::start(orders_serving.addr, catalog_serving.addr).await;
    running.wait_until_sold("tent").await;

    let first = running.list(&["kettle"], 3, "").await.unwrap();
    assert_eq!(
        listed(&first),
        expect(&[("mug", TOGETHER), ("stapler", TOGETHER), ("pan", CATEGORY)])
    );
    catalog_serving.stop().await;
    // Without categories it can no longer tell which products it showed as same-category
    // ones: the listing ends rather than risk showing one again.
    let second = running
        .list(&["kettle"], 3, &first.next_page_token)
        .await
        .unwrap();
    assert!(second.recommendations.is_empty());
    assert!(second.next_page_token.is_empty());

    running.stop().await;
    orders_serving.stop().await;
}

#[tokio::test]
async fn orders_down_at_start_then_up() {
    let orders = OrdersDouble::default();
    history(&orders);
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let orders_address = free_port();
    let running = Running::start(orders_address, catalog_serving.addr).await;
    assert_eq!(running.health().await, ServingStatus::Serving);
    assert_eq!(
        running.all(&["kettle"], 20).await,
        expect(&[("mug", CATEGORY), ("pan", CATEGORY), ("teapot", CATEGORY)])
    );

    let orders_serving = orders.serve(orders_address).await;
    running.wait_until_sold("tent").await;
    assert_eq!(
        running.all(&["kettle"], 20).await[0],
        ("mug".to_owned(), TOGETHER)
    );

    running.stop().await;
    orders_serving.stop().await;
    catalog_serving.stop().await;
}

#[tokio::test]
async fn replayed_events_are_not_counted_twice() {
    let orders = OrdersDouble::default();
    history(&orders);
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let running = Running::start(orders_serving.addr, catalog_serving.addr).await;
    running.wait_until_sold("tent").await;

    orders.replay_from_start(true);
    orders.end_streams();
    orders.wait_for_streams(2).await;
    orders.push(order_event(
        &orders,
        OrderEventType::Placed,
        "e6",
        &[("lamp", 1)],
    ));
    running.wait_until_sold("lamp").await;
    assert_eq!(
        running.all(&[], 20).await,
        expect(&[
            ("tent", POPULAR),
            ("kettle", POPULAR),
            ("mug", POPULAR),
            ("stapler", POPULAR),
            ("lamp", POPULAR),
        ])
    );
    // The reconnect asked to resume after the last event seen.
    assert_eq!(orders.requests()[0].after_sequence, 0);
    assert!(orders.requests()[1].after_sequence > 0);

    running.stop().await;
    catalog_serving.stop().await;
    orders_serving.stop().await;
}

#[tokio::test]
async fn bad_inputs_name_their_fields() {
    let running = Running::start(free_port(), free_port()).await;
    let cases: Vec<(Vec<String>, i32, &str, Vec<&str>)> = vec![
        (
            (0..51).map(|i| format!("p{i}")).collect(),
            0,
            "",
            vec!["product_ids"],
        ),
        (
            vec!["kettle".to_owned(), "Not_A_Slug".to_owned(), String::new()],
            0,
            "",
            vec!["product_ids[1]", "product_ids[2]"],
        ),
        (vec![], -1, "", vec!["page_size"]),
        (vec![], 0, "junk", vec!["page_token"]),
        (
            vec!["-bad".to_owned()],
            -3,
            "junk",
            vec!["product_ids[0]", "page_size", "page_token"],
        ),
    ];
    for (ids, page_size, token, fields) in cases {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let status = running.list(&ids, page_size, token).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{ids:?}");
        assert_eq!(violated_fields(&status), fields, "{ids:?}");
    }
    // 50 context products are fine.
    let fifty: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
    let fifty: Vec<&str> = fifty.iter().map(String::as_str).collect();
    assert!(running.list(&fifty, 0, "").await.is_ok());

    running.stop().await;
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_context_and_authorization_is_ignored() {
    let orders = OrdersDouble::default();
    let orders_serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let catalog = CatalogDouble::new(SHOP);
    let catalog_serving = catalog.serve().await;
    let running = Running::start(orders_serving.addr, catalog_serving.addr).await;

    let page = running.list(&["kettle"], 1, "").await.unwrap();
    assert!(!page.next_page_token.is_empty());
    for other in [&["mug"][..], &["kettle", "mug"][..], &[][..]] {
        let status = running
            .list(other, 1, &page.next_page_token)
            .await
            .unwrap_err();
        assert_invalid_argument(&status, &["page_token"]);
    }
    // A well-formed token whose position this server never writes.
    let forged = chassis::page::encode(
        chassis::page::fingerprint(&["recommendations", "kettle"]),
        "9/1/mug/c",
    );
    let status = running.list(&["kettle"], 1, &forged).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["page_token"]);

    // Public: a token, even a bad one, is ignored.
    let mut request = tonic::Request::new(
        bazaar_contract::recommendation::v1::ListRecommendationsRequest {
            product_ids: vec!["kettle".to_owned()],
            page_size: 20,
            page_token: String::new(),
        },
    );
    request
        .metadata_mut()
        .insert("authorization", "Bearer not-a-token".parse().unwrap());
    let answered = running
        .client
        .clone()
        .list_recommendations(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answered.recommendations.len(), 3);

    running.stop().await;
    catalog_serving.stop().await;
    orders_serving.stop().await;
}
