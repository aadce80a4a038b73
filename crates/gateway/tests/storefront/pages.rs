//! A purchase through the pages, and what keeps sessions safe.

use bazaar_testkit::buyer::{DECLINED_CARD, GOOD_CARD};

use crate::common::{Storefront, checkout_fields};

fn form<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_buys_through_the_pages_and_nobody_else_sees_the_order() {
    let store = Storefront::start("gateway_pages_purchase").await;
    let mut guest = store.browser();

    let home = guest.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("All products"));
    assert!(
        home.body.contains("/pictures/"),
        "product pictures are shown"
    );
    assert!(
        guest.cookies.contains_key("bazaar_csrf"),
        "the anti-forgery token is set on the first visit"
    );
    assert!(
        !guest.cookies.contains_key("bazaar_session"),
        "browsing starts no session"
    );
    let set_cookies: Vec<_> = home
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        set_cookies
            .iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );

    let found = guest.get("/search?q=brass+lamp").await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("/product/brass-desk-lamp"));

    let product = guest.get("/product/brass-desk-lamp").await;
    assert_eq!(product.status, 200);
    let csrf = product.csrf();
    for (id, quantity) in [("brass-desk-lamp", "1"), ("ceramic-coffee-mug", "2")] {
        let added = guest
            .post_form(
                "/cart/items",
                &[("csrf", &csrf), ("product_id", id), ("quantity", quantity)],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        assert_eq!(added.location(), "/cart");
        for name in ["bazaar_session", "bazaar_refresh"] {
            assert!(
                guest.cookies.contains_key(name),
                "{name} set by the first add to the cart"
            );
        }
    }
    let changed = guest
        .post_form(
            "/cart/items/brass-desk-lamp",
            &[("csrf", &csrf), ("quantity", "3")],
        )
        .await;
    assert_eq!(changed.status, 303);
    let cart = guest.get("/cart").await;
    assert_eq!(cart.status, 200);
    assert!(cart.body.contains("Subtotal (5 items)"), "{}", cart.body);

    let checkout = guest.get("/checkout").await;
    assert_eq!(checkout.status, 200);
    let request_id = checkout.field("request_id").expect("a request id");
    let declined = checkout_fields(&csrf, &request_id, DECLINED_CARD);
    let refused = guest.post_form("/checkout", &form(&declined)).await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains("was not placed"), "{}", refused.body);
    let again = refused.field("request_id").expect("a new request id");
    assert_ne!(
        again, request_id,
        "a failed order is final: a new attempt gets a new key"
    );

    let good = checkout_fields(&csrf, &again, GOOD_CARD);
    let placed = guest.post_form("/checkout", &form(&good)).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let confirmation_path = placed.location();
    assert!(
        confirmation_path.starts_with("/orders/ord_"),
        "{confirmation_path}"
    );
    let confirmation = guest.get(&confirmation_path).await;
    assert_eq!(confirmation.status, 200);
    assert!(confirmation.body.contains("Thank you"));
    assert!(confirmation.body.contains("placed"));
    let order_path = confirmation_path.split('?').next().unwrap().to_owned();

    let history = guest.get("/orders").await;
    assert_eq!(history.status, 200);
    assert!(
        history
            .body
            .contains(order_path.trim_start_matches("/orders/"))
    );
    let emptied = guest.get("/cart").await;
    assert!(emptied.body.contains("Your cart is empty"));

    let mut stranger = store.browser();
    let theirs = stranger.get(&order_path).await;
    assert_eq!(theirs.status, 404, "another shopper cannot see the order");
    let their_history = stranger.get("/orders").await;
    assert!(their_history.body.contains("No orders yet"));
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_and_logging_in_bring_the_guest_cart_along() {
    let store = Storefront::start("gateway_pages_login").await;
    let mut shopper = store.browser();
    let csrf = shopper.get("/").await.csrf();
    shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("product_id", "cast-iron-skillet"),
                ("quantity", "1"),
            ],
        )
        .await;
    let signup = shopper.get("/signup").await;
    let signed_up = shopper
        .post_form(
            "/signup",
            &[
                ("csrf", &signup.csrf()),
                ("email", "grace@example.com"),
                ("password", "a long enough password"),
                ("display_name", "Grace"),
            ],
        )
        .await;
    assert_eq!(signed_up.status, 303, "{}", signed_up.body);
    let csrf_after = shopper.cookies.get("bazaar_csrf").cloned().unwrap();
    assert_ne!(csrf_after, csrf, "a log-in renews the anti-forgery token");
    let home = shopper.get("/").await;
    assert!(
        home.body.contains("grace@example.com"),
        "the header greets the user"
    );
    let cart = shopper.get("/cart").await;
    assert!(cart.body.contains("Cast iron skillet") || cart.body.contains("cast-iron-skillet"));

    // Log out, add as a new guest, log in: both carts end up in the account.
    let logged_out = shopper
        .post_form("/logout", &[("csrf", &home.csrf())])
        .await;
    assert_eq!(logged_out.status, 303);
    let as_guest = shopper.get("/cart").await;
    assert!(
        as_guest.body.contains("Your cart is empty"),
        "a new guest starts empty"
    );
    shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", &as_guest.csrf()),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "2"),
            ],
        )
        .await;
    let login = shopper.get("/login").await;
    let wrong = shopper
        .post_form(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("email", "grace@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("wrong"));
    let logged_in = shopper
        .post_form(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("email", "grace@example.com"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let merged = shopper.get("/cart").await;
    assert!(
        merged.body.contains("Subtotal (3 items)"),
        "{}",
        merged.body
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forms_are_refused_and_output_is_escaped() {
    let store = Storefront::start("gateway_pages_safety").await;
    let mut shopper = store.browser();
    let home = shopper.get("/").await;
    let csrf = home.csrf();

    let headers = &home.headers;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");

    let no_token = shopper
        .post_form(
            "/cart/items",
            &[("product_id", "brass-desk-lamp"), ("quantity", "1")],
        )
        .await;
    assert_eq!(no_token.status, 403);
    let wrong_token = shopper
        .post_form(
            "/cart/items",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("product_id", "brass-desk-lamp"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(wrong_token.status, 403);
    let body = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("product_id", "brass-desk-lamp"),
        ("quantity", "1"),
    ])
    .unwrap();
    let cross_site = shopper
        .send(
            hyper::Method::POST,
            "/cart/items",
            body.into_bytes(),
            Some("application/x-www-form-urlencoded"),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(
        cross_site.status, 403,
        "another site's form is refused even with a token"
    );
    let cart = shopper.get("/cart").await;
    assert!(
        cart.body.contains("Your cart is empty"),
        "nothing forged got in"
    );

    let hostile = shopper
        .get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(hostile.status, 200);
    assert!(!hostile.body.contains("<script>alert(1)</script>"));
    assert!(
        hostile
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || hostile.body.contains("&lt;script&gt;")
    );

    let back = shopper
        .post_form(
            "/currency",
            &[
                ("csrf", &csrf),
                ("currency", "EUR"),
                ("back", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location(), "/", "never redirected to another site");
    let in_euros = shopper.get("/product/brass-desk-lamp").await;
    assert!(in_euros.body.contains('€'), "prices in the chosen currency");

    let missing = shopper.get("/product/no-such-product").await;
    assert_eq!(missing.status, 404);
    let picture = shopper.get("/pictures/brass-desk-lamp.svg").await;
    assert_eq!(picture.status, 200);
    assert_eq!(picture.headers["content-type"], "image/svg+xml");
    assert_eq!(shopper.get("/healthz").await.status, 200);
    store.stop().await;
}
