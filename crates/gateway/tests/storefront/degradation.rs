//! Graceful degradation, one rule at a time: stop the service, load the page. Every load
//! must come back (bounded by deadlines); what it says depends on which service is down.

use std::time::Duration;

use bazaar_testkit::buyer::GOOD_CARD;
use hyper::Method;

use crate::common::{Storefront, checkout_fields};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_recommendation_pages_render_without_recommendations() {
    let store = Storefront::start("gateway_degrade_recommendation").await;
    let mut shopper = store.browser();
    let before = shopper.get("/product/brass-desk-lamp").await;
    assert!(
        before.body.contains("id=\"recommendations\""),
        "recommendations while it is up"
    );

    store.shop.stop("recommendation").await;
    let home = shopper.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("All products"));
    assert!(!home.body.contains("id=\"recommendations\""));
    let product = shopper.get("/product/brass-desk-lamp").await;
    assert_eq!(product.status, 200);
    assert!(!product.body.contains("id=\"recommendations\""));
    let api = shopper
        .api(
            Method::GET,
            "/api/v1/recommendations?product_ids=brass-desk-lamp",
            None,
            None,
        )
        .await;
    assert_eq!(api.status, 200);
    assert_eq!(api.json()["available"], false);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_currency_prices_are_in_dollars_with_a_note() {
    let store = Storefront::start("gateway_degrade_currency").await;
    let mut shopper = store.browser();
    let csrf = shopper.get("/").await.csrf();
    shopper
        .post_form(
            "/currency",
            &[("csrf", &csrf), ("currency", "EUR"), ("back", "/")],
        )
        .await;
    let in_euros = shopper.get("/").await;
    assert!(in_euros.body.contains('€'));
    assert!(!in_euros.body.contains("id=\"currency-note\""));

    store.shop.stop("currency").await;
    let home = shopper.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("id=\"currency-note\""),
        "the note says why"
    );
    assert!(home.body.contains("Prices are shown in US dollars"));
    let product = shopper.get("/product/brass-desk-lamp").await;
    assert_eq!(product.status, 200);
    let price_line = product
        .body
        .lines()
        .find(|l| l.contains("id=\"price\""))
        .expect("a price");
    assert!(
        price_line.contains('$') && !price_line.contains('€'),
        "{price_line}"
    );
    let api = shopper
        .api(
            Method::GET,
            "/api/v1/products/brass-desk-lamp?currency=EUR",
            None,
            None,
        )
        .await;
    assert_eq!(api.status, 200);
    assert_eq!(api.json()["product"]["price"]["currency_code"], "USD");
    assert!(api.json()["currency_note"].is_string());
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notification_the_confirmation_page_still_renders() {
    let store = Storefront::start("gateway_degrade_notification").await;
    store.shop.stop("notification").await;
    let mut shopper = store.browser();
    let csrf = shopper.get("/").await.csrf();
    shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "1"),
            ],
        )
        .await;
    let checkout = shopper.get("/checkout").await;
    assert_eq!(checkout.status, 200);
    let fields = checkout_fields(&csrf, &checkout.field("request_id").unwrap(), GOOD_CARD);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let placed = shopper.post_form("/checkout", &fields).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let confirmation = shopper.get(&placed.location()).await;
    assert_eq!(confirmation.status, 200);
    assert!(confirmation.body.contains("Thank you"));
    assert!(
        confirmation
            .body
            .contains("A confirmation will be e-mailed to ada@example.com")
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cart_browsing_works_and_the_cart_says_it_is_unavailable() {
    let store = Storefront::start("gateway_degrade_cart").await;
    let mut shopper = store.browser();
    let csrf = shopper.get("/").await.csrf();
    // A shopper with a cart (browsing alone starts no session).
    shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("product_id", "ceramic-coffee-mug"),
                ("quantity", "1"),
            ],
        )
        .await;
    let token = shopper.cookies["bazaar_session"].clone();

    store.shop.stop("cart").await;
    for path in [
        "/",
        "/search?q=lamp",
        "/product/brass-desk-lamp",
        "/category/kitchen",
    ] {
        let page = shopper.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.body.contains("id=\"cart-count\""),
            "{path}: no cart count"
        );
    }
    let cart = shopper.get("/cart").await;
    assert_eq!(cart.status, 503);
    assert!(
        cart.body.contains("Your cart is unavailable right now"),
        "{}",
        cart.body
    );
    let add = shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(add.status, 503);
    let checkout = shopper.get("/checkout").await;
    assert_eq!(checkout.status, 503);
    assert!(checkout.body.contains("Checkout is unavailable right now"));

    let api = shopper
        .api(Method::GET, "/api/v1/cart", Some(&token), None)
        .await;
    assert_eq!(api.status, 503);
    assert_eq!(api.json()["error"]["code"], "UNAVAILABLE");
    assert_eq!(api.json()["error"]["service"], "cart");
    let add = shopper
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&token),
            Some(serde_json::json!({"product_id": "brass-desk-lamp", "quantity": 1})),
        )
        .await;
    assert_eq!(add.status, 503);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_orders_checkout_and_history_say_they_are_unavailable() {
    let store = Storefront::start("gateway_degrade_orders").await;
    let mut shopper = store.browser();
    let csrf = shopper.get("/").await.csrf();
    shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "1"),
            ],
        )
        .await;
    let token = shopper.cookies["bazaar_session"].clone();

    store.shop.stop("orders").await;
    assert_eq!(shopper.get("/").await.status, 200);
    assert_eq!(
        shopper.get("/cart").await.status,
        200,
        "the cart works without orders"
    );
    let checkout = shopper.get("/checkout").await;
    assert_eq!(checkout.status, 503);
    assert!(checkout.body.contains("Checkout is unavailable right now"));
    let history = shopper.get("/orders").await;
    assert_eq!(history.status, 503);
    assert!(
        history
            .body
            .contains("Your orders are unavailable right now")
    );
    let fields = checkout_fields(&csrf, "gateway-orders-down-1", GOOD_CARD);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let placed = shopper.post_form("/checkout", &fields).await;
    assert_eq!(placed.status, 503);

    let api = shopper
        .api(Method::GET, "/api/v1/orders", Some(&token), None)
        .await;
    assert_eq!(api.status, 503);
    assert_eq!(api.json()["error"]["service"], "orders");
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_catalog_the_shop_answers_a_clear_503_page() {
    let store = Storefront::start("gateway_degrade_catalog").await;
    let mut shopper = store.browser();
    assert_eq!(shopper.get("/").await.status, 200);

    store.shop.stop("catalog").await;
    let stopped = tokio::time::Instant::now();
    // The home page was just shown: what it showed is kept for the browse cache's time to
    // live (2 s), and then it too is unavailable.
    let home = loop {
        let page = shopper.get("/").await;
        if page.status != 200 || stopped.elapsed() > Duration::from_secs(10) {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (path, page) in [
        ("/", home),
        (
            "/product/brass-desk-lamp",
            shopper.get("/product/brass-desk-lamp").await,
        ),
        ("/search?q=lamp", shopper.get("/search?q=lamp").await),
        ("/category/kitchen", shopper.get("/category/kitchen").await),
    ] {
        assert_eq!(page.status, 503, "{path}");
        assert!(
            page.body.contains("The shop is unavailable right now"),
            "{path}: {}",
            page.body
        );
    }
    let api = shopper
        .api(Method::GET, "/api/v1/products", None, None)
        .await;
    assert_eq!(api.status, 503);
    assert_eq!(api.json()["error"]["service"], "catalog");
    let status = shopper.get("/status").await;
    assert_eq!(status.status, 200, "the status page works whatever is down");
    assert!(status.body.contains("DOWN"));
    store.stop().await;
}
