//! The shelves (`gateway::shop::shelves`): pages of products every shopper sees alike are
//! kept for the browse cache's time to live. The gateway runs here in front of a catalog
//! double (`bazaar-doubles`) that counts its ListProducts calls and can be made slow, down,
//! or change a price; the other services are unreachable, which the product list does not
//! need.

use std::time::Duration;

use bazaar_doubles::catalog::CatalogDouble;
use bazaar_doubles::money;
use chassis::Shutdown;
use hyper::Method;
use tokio::time::Instant;

use crate::common::{Browser, Page};

/// The default time to live of the browse cache (`--browse-cache-ms`).
const TTL: Duration = Duration::from_secs(2);
/// A page of the product list, as the API lists it.
const PRODUCTS: &str = "/api/v1/products?page_size=2";

/// A gateway in front of `catalog`, with every other service unreachable.
struct Front {
    browser: Browser,
    addr: std::net::SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
    _data: tempfile::TempDir,
}

impl Front {
    async fn start(name: &str, catalog: std::net::SocketAddr) -> Self {
        let data = tempfile::Builder::new()
            .prefix(name)
            .tempdir()
            .expect("a temporary directory");
        let mut config = gateway::Config::for_tests(data.path().join("gateway"), |service| {
            if service == "catalog" {
                catalog.to_string()
            } else {
                // Nothing listens on port 1 of loopback: calls fail at once.
                "127.0.0.1:1".to_owned()
            }
        });
        config.rate_limit_per_second = 0;
        let gateway = gateway::Gateway::bind(&config)
            .await
            .expect("the gateway binds port 0");
        let addr = gateway.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            gateway.run(stop).await.expect("the gateway runs");
        });
        Self {
            browser: Browser::new(addr),
            addr,
            shutdown,
            task,
            _data: data,
        }
    }

    async fn products(&mut self) -> Page {
        self.browser.api(Method::GET, PRODUCTS, None, None).await
    }

    async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
    }
}

/// The price text of product `id` on a page of the product list.
fn price_of(page: &Page, id: &str) -> String {
    let json = page.json();
    json["products"]
        .as_array()
        .expect("a list of products")
        .iter()
        .find(|p| p["id"] == id)
        .map_or_else(
            || panic!("{id} is listed: {json}"),
            |p| p["price"]["text"].as_str().unwrap_or_default().to_owned(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_shoppers_at_once_cost_the_catalog_one_call() {
    let catalog = CatalogDouble::default();
    // Slow enough that every request below arrives while the first call is out.
    catalog.0.lock().list_delay = Duration::from_millis(300);
    let serving = catalog.serve().await;
    let front = Front::start("shelves-single-flight", serving.addr).await;

    let shoppers = (0..16).map(|_| {
        let mut browser = Browser::new(front.addr);
        async move { browser.api(Method::GET, PRODUCTS, None, None).await }
    });
    let pages = futures_util::future::join_all(shoppers).await;
    for page in &pages {
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(price_of(page, "lamp"), "$19.99");
    }
    assert_eq!(
        catalog.listed().len(),
        1,
        "16 shoppers at once, one ListProducts"
    );
    front.stop().await;
    serving.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_price_shows_once_the_time_to_live_is_over() {
    let catalog = CatalogDouble::default();
    let serving = catalog.serve().await;
    let mut front = Front::start("shelves-ttl", serving.addr).await;

    let fetched = Instant::now();
    let first = front.products().await;
    assert_eq!(price_of(&first, "lamp"), "$19.99");
    catalog
        .0
        .lock()
        .products
        .get_mut("lamp")
        .expect("the double sells a lamp")
        .price = Some(money("USD", "21.00"));

    // Kept: the next shopper sees the page as it was, and the catalog is not asked.
    let kept = front.products().await;
    if fetched.elapsed() < TTL {
        assert_eq!(price_of(&kept, "lamp"), "$19.99");
        assert_eq!(catalog.listed().len(), 1);
    }

    // Then the new price, no later than the time to live after the first call began
    // (with room for a slow machine), and only after it.
    let deadline = fetched + TTL + Duration::from_secs(3);
    loop {
        let page = front.products().await;
        if price_of(&page, "lamp") == "$21.00" {
            assert!(
                fetched.elapsed() >= TTL,
                "the page was asked for again before it expired"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old price was still shown {:?} after it was fetched",
            fetched.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(catalog.listed().len(), 2, "one call per time to live");
    front.stop().await;
    serving.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_not_kept() {
    let catalog = CatalogDouble::default();
    let serving = catalog.serve().await;
    let mut front = Front::start("shelves-failure", serving.addr).await;

    catalog.0.lock().down = true;
    let down = front.products().await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.json()["error"]["service"], "catalog");

    // Back at once: the next shopper gets the products, without waiting for any expiry.
    catalog.0.lock().down = false;
    let up = front.products().await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(price_of(&up, "lamp"), "$19.99");
    assert_eq!(catalog.listed().len(), 1);
    front.stop().await;
    serving.stop().await;
}
