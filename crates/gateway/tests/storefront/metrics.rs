//! The storefront's metrics, scraped over plain HTTP from its admin listener: requests by
//! route template (never a raw path), and the calls a page makes counted on both ends.
//!
//! The shop runs in this test process and other tests load pages at the same time, so
//! shared series are checked to have moved at least as much as this test moved them.

use chassis::testing::metrics::{self as scrape, Scrape};

use crate::common::Storefront;

#[tokio::test]
async fn requests_are_counted_by_route_template_and_calls_on_both_ends() {
    let storefront = Storefront::start("storefront metrics").await;
    let admin = storefront.admin_addr;
    assert_eq!(scrape::get(admin, "/readyz").await.status, 200);
    let mut browser = storefront.browser();
    let before = Scrape::of(admin).await;

    let page = browser.get("/product/brass-desk-lamp").await;
    assert_eq!(page.status.as_u16(), 200);
    let page = browser.get("/no-such-page-4711").await;
    assert_eq!(page.status.as_u16(), 404);
    let page = browser.get("/api/v1/products/ceramic-coffee-mug").await;
    assert_eq!(page.status.as_u16(), 200);
    let page = browser.get("/api/v1/no-such-thing-4711").await;
    assert_eq!(page.status.as_u16(), 404);

    let after = Scrape::of(admin).await;
    let moved = |name: &str, labels: &[(&str, &str)]| after.delta(&before, name, labels);
    let product = [
        ("method", "GET"),
        ("route", "/product/{id}"),
        ("status", "200"),
    ];
    assert!(
        moved("http_requests_total", &product) >= 1.0,
        "{}",
        after.text
    );
    assert!(moved("http_request_duration_seconds_count", &product) >= 1.0);
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert!(moved("http_requests_total", &unmatched) >= 1.0);
    let api = [
        ("method", "GET"),
        ("route", "/api/v1/products/{product_id}"),
        ("status", "200"),
    ];
    assert!(moved("http_requests_total", &api) >= 1.0, "{}", after.text);
    for labels in after.label_sets("http_requests_total") {
        let route = &labels["route"];
        assert!(
            route == "unmatched" || route.starts_with('/'),
            "route {route:?}"
        );
        for raw in ["brass-desk-lamp", "ceramic-coffee-mug", "4711"] {
            assert!(!route.contains(raw), "a raw path became a label: {route}");
        }
    }

    // The product page asked the catalog: counted by the gateway's upstream and by the
    // catalog's server (both in this process, one recorder).
    let get_product = [
        ("grpc_type", "unary"),
        ("grpc_service", "bazaar.catalog.v1.CatalogService"),
        ("grpc_method", "GetProduct"),
    ];
    let mut client = get_product.to_vec();
    client.extend([("grpc_code", "OK"), ("callee", "catalog")]);
    assert!(
        moved("grpc_client_handled_total", &client) >= 2.0,
        "{}",
        after.text
    );
    let mut server = get_product.to_vec();
    server.push(("grpc_code", "OK"));
    assert!(moved("grpc_server_handled_total", &server) >= 2.0);

    // The catalog's store pool, sampled at the scrape.
    assert_eq!(
        after.value("bazaar_store_pool_max_connections", &[("store", "catalog")]),
        1.0,
        "a SQLite pool holds one connection"
    );
    let idle = after.value(
        "bazaar_store_pool_connections",
        &[("store", "catalog"), ("state", "idle")],
    );
    let in_use = after.value(
        "bazaar_store_pool_connections",
        &[("store", "catalog"), ("state", "in_use")],
    );
    assert_eq!(idle + in_use, 1.0, "{idle} + {in_use}");
    assert!(after.value("process_open_fds", &[]) > 0.0 || !cfg!(target_os = "linux"));
    storefront.stop().await;
}
