//! The storefront in a real browser: headless Chromium driven through chromedriver
//! (WebDriver). Runs when chromedriver is found (`BAZAAR_TEST_CHROMEDRIVER`, or
//! `/usr/bin/chromedriver`) and says plainly that it was skipped otherwise. Screenshots of
//! the main pages (and of the status page with its live graphs) go to `<target>/screenshots/` (or `BAZAAR_TEST_SCREENSHOTS`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bazaar_testkit::buyer::GOOD_CARD;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::common::{Storefront, record_calls};

/// chromedriver and the Chromium it drives, both stopped when dropped.
struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("BAZAAR_TEST_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
    path.exists().then_some(path)
}

/// Starts chromedriver on a free port, or `None` (after saying so) when it is not installed.
async fn driver(test: &str) -> Option<Driver> {
    let Some(path) = chromedriver() else {
        println!(
            "SKIPPED {test}: chromedriver not found (set BAZAAR_TEST_CHROMEDRIVER or install \
             Debian's chromium and chromium-driver)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let process = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        process,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    let binary =
        std::env::var("BAZAAR_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": binary,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-US"]
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("BAZAAR_TEST_SCREENSHOTS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("the target directory")
                .join("screenshots")
        },
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("the screenshot is saved");
    println!("screenshot: {}", path.display());
}

/// The text of the first element at `css` once it satisfies `ready`: pages load after a
/// click returns, so this waits (up to 10 s) through navigation and stale elements.
async fn text_when(client: &Client, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && ready(&text)
        {
            return text;
        }
        if tokio::time::Instant::now() > deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            let page = client.source().await.unwrap_or_default();
            panic!("no {css} as expected on {url:?}:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(client: &Client, css: &str) -> String {
    text_when(client, css, |_| true).await
}

async fn fill(client: &Client, name: &str, value: &str) {
    let field = client
        .find(Locator::Css(&format!("[name=\"{name}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no field {name}: {e}"));
    field.clear().await.expect("cleared");
    field.send_keys(value).await.expect("typed");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
        .click()
        .await
        .expect("clicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_shops_in_a_real_browser_and_a_second_user_cannot_see_the_order() {
    let Some(driver) = driver("browser purchase").await else {
        return;
    };
    let store = Storefront::start("gateway_browser_purchase").await;
    let client = browser(&driver).await;

    client.goto(&store.url("/")).await.expect("home");
    assert!(client.title().await.unwrap().contains("bazaar"));
    text(&client, "#products .card").await;
    snap(&client, "home").await;

    fill(&client, "q", "lamp").await;
    click(&client, "form.search button").await;
    text_when(&client, "h1", |t| t.contains("lamp")).await;
    snap(&client, "search").await;

    click(&client, "a[href=\"/product/brass-desk-lamp\"]").await;
    text_when(&client, "h1", |t| t.eq_ignore_ascii_case("brass desk lamp")).await;
    snap(&client, "product").await;
    click(&client, "#add-to-cart button").await;
    text_when(&client, "h1", |t| t == "Your cart").await;

    client
        .goto(&store.url("/product/ceramic-coffee-mug"))
        .await
        .unwrap();
    click(&client, "#add-to-cart button").await;
    text_when(&client, "h1", |t| t == "Your cart").await;
    text(&client, "#cart-lines").await;
    let lines = client
        .find_all(Locator::Css("#cart-lines tbody tr"))
        .await
        .unwrap();
    assert_eq!(lines.len(), 2, "two products in the cart");

    fill(&client, "quantity", "3").await;
    click(&client, "#cart-lines tbody tr:first-child form.qty button").await;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//tfoot[contains(., '4 items')]"))
        .await
        .expect("the subtotal counts 4 items");
    text_when(&client, "#cart-count", |t| t == "4").await;
    snap(&client, "cart").await;

    click(&client, "#to-checkout").await;
    text_when(&client, "h1", |t| t == "Checkout").await;
    for (name, value) in [
        ("email", "ada@example.com"),
        ("recipient_name", "Ada Lovelace"),
        ("street", "1 Main St"),
        ("postal_code", "12345"),
        ("city", "Springfield"),
        ("country_code", "US"),
        ("card_number", GOOD_CARD),
        ("expiry_month", "12"),
        ("expiry_year", "2040"),
        ("cvv", "123"),
        ("holder_name", "Ada Lovelace"),
    ] {
        fill(&client, name, value).await;
    }
    snap(&client, "checkout").await;
    click(&client, "#place-order").await;
    text_when(&client, "#confirmation h1", |t| t.contains("Thank you")).await;
    let order_id = text(&client, "#order-id").await;
    text_when(&client, "#order-state", |t| t == "placed").await;
    snap(&client, "confirmation").await;

    client.goto(&store.url("/orders")).await.unwrap();
    text_when(&client, "#order-history", |t| t.contains(&order_id)).await;
    snap(&client, "orders").await;

    for (path, name, heading) in [
        ("/signup", "signup", "Create an account"),
        ("/login", "login", "Log in"),
    ] {
        client.goto(&store.url(path)).await.unwrap();
        text_when(&client, "h1", |t| t == heading).await;
        snap(&client, name).await;
    }
    the_status_page_draws_live_graphs_and_the_map(&client, &store).await;

    // A second user: a browser with none of the first one's cookies.
    client.delete_all_cookies().await.unwrap();
    client
        .goto(&store.url(&format!("/orders/{order_id}")))
        .await
        .unwrap();
    text_when(&client, "h1", |t| t == "Not found").await;
    client.goto(&store.url("/orders")).await.unwrap();
    text_when(&client, "#no-orders", |t| t.contains("No orders yet")).await;

    client.close().await.unwrap();
    store.stop().await;
}

/// /status after the purchase: the page's own script redraws the graphs from the
/// services' metrics (scraped every 500 ms) while calls go on, and the map shows every
/// service and every call of the service table.
async fn the_status_page_draws_live_graphs_and_the_map(client: &Client, store: &Storefront) {
    client.goto(&store.url("/status")).await.unwrap();
    text_when(client, "h1", |t| t == "System status").await;
    let traffic = tokio::spawn(async {
        loop {
            record_calls("orders", "PlaceOrder", "OK", 0.06, 2);
            record_calls("orders", "PlaceOrder", "Unavailable", 0.4, 1);
            record_calls("catalog", "GetProduct", "OK", 0.002, 25);
            record_calls("cart", "GetCart", "OK", 0.004, 10);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // No reload: the script swaps in the graphs drawn since.
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(
            "#vitals tr[data-service=\"orders\"] td[data-graph=\"latency\"] polyline.first",
        ))
        .await
        .expect("the orders' latency graph is drawn live");
    // A few more points on the graphs for the picture.
    tokio::time::sleep(Duration::from_secs(6)).await;
    traffic.abort();
    let nodes = client
        .find_all(Locator::Css("#dependency-map svg g.node"))
        .await
        .unwrap();
    assert_eq!(nodes.len(), chassis::topology::SERVICES.len());
    let edges = client
        .find_all(Locator::Css("#dependency-map svg path.edge"))
        .await
        .unwrap();
    let calls: usize = chassis::topology::SERVICES
        .iter()
        .map(|s| s.calls.len())
        .sum();
    assert_eq!(edges.len(), calls);
    let graphs = client
        .find_all(Locator::Css("#vitals svg.spark"))
        .await
        .unwrap();
    assert_eq!(graphs.len(), 3 * chassis::topology::grpc_services().count());
    let errors = text(
        client,
        "#vitals tr[data-service=\"orders\"] [data-field=\"errors\"]",
    )
    .await;
    assert!(errors.ends_with('%') && errors != "0.0 %", "{errors}");
    // Tall enough for the whole page in one picture.
    client.set_window_size(1280, 2000).await.unwrap();
    snap(client, "status").await;
    client.set_window_size(1280, 1000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_keeps_shopping_with_recommendation_or_cart_stopped() {
    let Some(driver) = driver("browser degradation").await else {
        return;
    };
    let store = Storefront::start("gateway_browser_degradation").await;
    let client = browser(&driver).await;

    store.shop.stop("recommendation").await;
    client.goto(&store.url("/")).await.unwrap();
    text(&client, "#products .card").await;
    assert!(client.find(Locator::Id("recommendations")).await.is_err());
    client
        .goto(&store.url("/product/brass-desk-lamp"))
        .await
        .unwrap();
    text_when(&client, "h1", |t| t.eq_ignore_ascii_case("brass desk lamp")).await;
    // The first add to the cart starts the visitor's session; without one, the cart page
    // is empty without asking the cart service at all.
    click(&client, "#add-to-cart button").await;
    text_when(&client, "h1", |t| t == "Your cart").await;

    store.shop.stop("cart").await;
    client.goto(&store.url("/search?q=mug")).await.unwrap();
    text(&client, "#results .card").await;
    client
        .goto(&store.url("/product/ceramic-coffee-mug"))
        .await
        .unwrap();
    text_when(&client, "h1", |t| t.to_lowercase().contains("mug")).await;
    client.goto(&store.url("/cart")).await.unwrap();
    text_when(&client, "#unavailable h1", |t| {
        t.contains("cart is unavailable")
    })
    .await;
    snap(&client, "cart-unavailable").await;

    client.close().await.unwrap();
    store.stop().await;
}
