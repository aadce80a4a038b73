//! The front door: browsing without a session, the per-client rate limit, and identity's
//! throttles keyed per shopper behind the gateway.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use crate::common::Storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsing_starts_no_session_and_the_first_add_to_cart_does() {
    let store = Storefront::start("gateway_front_door_browsing").await;
    let mut visitor = store.browser();
    for path in [
        "/",
        "/search?q=lamp",
        "/product/brass-desk-lamp",
        "/cart",
        "/checkout",
        "/orders",
        "/login",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let home = visitor.get("/").await;
    let category = home
        .body
        .split("href=\"/category/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the home page links a category")
        .to_owned();
    let page = visitor.get(&format!("/category/{category}")).await;
    assert_eq!(page.status, 200);
    // Every page view went without identity: no guest session was started.
    assert!(
        !visitor.cookies.contains_key("bazaar_session")
            && !visitor.cookies.contains_key("bazaar_refresh"),
        "no session while browsing: {:?}",
        visitor.cookies.keys()
    );
    assert!(
        visitor.cookies.contains_key("bazaar_csrf"),
        "forms still carry an anti-forgery token"
    );
    let cart = visitor.get("/cart").await;
    assert!(cart.body.contains("Your cart is empty"));

    // The first action that needs a shopper starts a guest session.
    let product = visitor.get("/product/brass-desk-lamp").await;
    let added = visitor
        .post_form(
            "/cart/items",
            &[
                ("csrf", &product.csrf()),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    for name in ["bazaar_session", "bazaar_refresh"] {
        assert!(visitor.cookies.contains_key(name), "{name} set by the add");
    }
    let cart = visitor.get("/cart").await;
    assert!(
        cart.body.contains("Brass desk lamp") || cart.body.contains("brass-desk-lamp"),
        "the guest's cart holds the lamp"
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_its_allowance_a_client_gets_429_with_retry_after() {
    let store = Storefront::start_with("gateway_front_door_rate_limit", |config| {
        config.rate_limit_per_second = 1;
        config.rate_limit_burst = 3;
        config.trust_forwarded_for = true;
    })
    .await;
    let mut client = store.browser();
    let from = |address: &'static str| [("x-forwarded-for", address)];
    let a = from("203.0.113.7");
    for _ in 0..3 {
        let page = client.send(Method::GET, "/", Vec::new(), None, &a).await;
        assert_eq!(page.status, 200);
    }
    let refused = client.send(Method::GET, "/", Vec::new(), None, &a).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(
        refused.body.contains("Too many requests"),
        "{}",
        refused.body
    );

    // The API answers the same way, in its JSON error shape.
    let refused = client
        .send(Method::GET, "/api/v1/products", Vec::new(), None, &a)
        .await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "1");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "RESOURCE_EXHAUSTED");
    assert_eq!(error["reason"], "TOO_MANY_REQUESTS");

    // Files are not counted; other clients have their own allowance; only the last hop
    // of X-Forwarded-For (the one the trusted proxy wrote) names the client.
    let file = client
        .send(Method::GET, "/static/style.css", Vec::new(), None, &a)
        .await;
    assert_eq!(file.status, 200);
    let other = client
        .send(Method::GET, "/", Vec::new(), None, &from("203.0.113.8"))
        .await;
    assert_eq!(other.status, 200);
    let posing = client
        .send(
            Method::GET,
            "/",
            Vec::new(),
            None,
            &from("198.51.100.99, 203.0.113.7"),
        )
        .await;
    assert_eq!(posing.status, 429);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trusted_proxy_forwarded_for_is_ignored() {
    let store = Storefront::start_with("gateway_front_door_untrusted", |config| {
        config.rate_limit_per_second = 1;
        config.rate_limit_burst = 2;
    })
    .await;
    let mut client = store.browser();
    for (n, address) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .into_iter()
        .enumerate()
    {
        let page = client
            .send(
                Method::GET,
                "/api/v1/categories",
                Vec::new(),
                None,
                &[("x-forwarded-for", address)],
            )
            .await;
        let expected = if n < 2 { 200 } else { 429 };
        assert_eq!(page.status, expected, "request {n}: {}", page.body);
    }
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_behind_the_gateway_does_not_lock_the_owner_out() {
    let store = Storefront::start_with("gateway_front_door_log_in", |config| {
        config.trust_forwarded_for = true;
    })
    .await;
    let mut client = store.browser();
    let credentials = |password: &str| json!({"email": "ada@example.com", "password": password});
    let signed_up = client
        .api(
            Method::POST,
            "/api/v1/session/signup",
            None,
            Some(credentials("the owner's password")),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);

    let log_in = async |client: &mut crate::common::Browser, from: &str, password: &str| {
        let body = credentials(password).to_string().into_bytes();
        client
            .send(
                Method::POST,
                "/api/v1/session/login",
                body,
                Some("application/json"),
                &[("x-forwarded-for", from)],
            )
            .await
    };
    for _ in 0..5 {
        let wrong = log_in(&mut client, "203.0.113.7", "a wrong guess here").await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
    }
    let waiting = log_in(&mut client, "203.0.113.7", "the owner's password").await;
    assert_eq!(
        waiting.status, 429,
        "the guesser must wait: {}",
        waiting.body
    );
    assert_eq!(waiting.json()["error"]["reason"], "TOO_MANY_ATTEMPTS");
    assert_eq!(
        waiting.headers["retry-after"], "1",
        "identity's RetryInfo becomes Retry-After"
    );
    let owner = log_in(&mut client, "198.51.100.2", "the owner's password").await;
    assert_eq!(owner.status, 200, "the owner logs in: {}", owner.body);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_limit_the_gateway_sheds_with_503_and_retry_after() {
    use tokio::io::AsyncWriteExt;

    let store = Storefront::start_with("gateway_front_door_shed", |config| {
        config.server.max_in_flight = 1;
        config.rate_limit_per_second = 0;
    })
    .await;
    // A request that holds the one place: its body never comes, so its handler waits.
    let mut held = tokio::net::TcpStream::connect(store.addr)
        .await
        .expect("the gateway accepts");
    held.write_all(
        b"POST /api/v1/session/login HTTP/1.1\r\nhost: localhost\r\n\
          content-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    )
    .await
    .expect("the head is sent");

    let mut client = store.browser();
    let mut page = None;
    let shed = chassis::testing::eventually(Duration::from_secs(20), async || {
        let answer = client.send(Method::GET, "/", Vec::new(), None, &[]).await;
        let refused = answer.status == 503;
        page = Some(answer);
        refused
    })
    .await;
    assert!(shed, "a page is never shed while the place is held");
    let page = page.expect("an answer");
    assert_eq!(page.headers["retry-after"], "1", "10 ms rounded up");
    assert!(page.body.contains("busy"), "{}", page.body);

    // The API answers the same way, in its JSON error shape.
    let refused = client
        .send(Method::GET, "/api/v1/products", Vec::new(), None, &[])
        .await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["retry-after"], "1");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "UNAVAILABLE");
    assert_eq!(error["reason"], "OVERLOADED");

    // Files and the probe are never shed.
    for path in ["/static/style.css", "/healthz"] {
        let answer = client.send(Method::GET, path, Vec::new(), None, &[]).await;
        assert_eq!(answer.status, 200, "{path}");
    }

    // The held request goes away: pages are served again.
    drop(held);
    let served = chassis::testing::eventually(Duration::from_secs(20), async || {
        client
            .send(Method::GET, "/", Vec::new(), None, &[])
            .await
            .status
            == 200
    })
    .await;
    assert!(
        served,
        "the place of a request whose client left is never freed"
    );
    store.stop().await;
}
