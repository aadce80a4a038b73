//! Everything the catalog's contract promises (paging, batches, search, categories, bad
//! input named by field), on a real SQLite file and on the real PostgreSQL when
//! `BAZAAR_TEST_POSTGRES_URL` is set; data that survives a restart; and a database that is
//! not there.

use std::collections::HashSet;

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::*;
use chassis::testing::{
    assert_invalid_argument, on_postgres, unreachable_postgres_url, violated_fields,
};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

use crate::support::Running;

fn seed_count() -> usize {
    catalog::seed::Seed::embedded().unwrap().products.len()
}

/// Everything the contract promises, run against whichever backend `running` uses.
async fn contract_holds(running: &Running) {
    let mut client = running.client.clone();

    // Paging through everything yields every product once, in id order.
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_products(ListProductsRequest {
                page_size: 7,
                page_token: token.clone(),
                category_id: String::new(),
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.products.len() <= 7);
        ids.extend(page.products.iter().map(|p| p.id.clone()));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids.len(), seed_count());
    assert!(pages > 1);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "ordered by id, no duplicates");

    // The default page is 20; large sizes are clamped to 100.
    let page = client
        .list_products(ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.products.len(), 20);
    let page = client
        .list_products(ListProductsRequest {
            page_size: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.products.len(), seed_count().min(100));

    // Products carry prices in whole USD cents and a picture.
    for product in &page.products {
        let price = product.price.as_ref().expect("a price");
        assert_eq!(price.currency_code, "USD");
        assert!(price.units > 0 || price.nanos > 0);
        assert_eq!(price.nanos % 10_000_000, 0);
        assert_eq!(product.picture_uri, format!("/pictures/{}.svg", product.id));
    }

    // A category filter returns only products of that category.
    let kitchen = client
        .list_products(ListProductsRequest {
            page_size: 100,
            category_id: "kitchen".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!kitchen.products.is_empty());
    assert!(kitchen.products.len() < seed_count());
    assert!(
        kitchen
            .products
            .iter()
            .all(|p| p.category_ids.contains(&"kitchen".to_owned()))
    );

    // Bad list requests.
    let status = client
        .list_products(ListProductsRequest {
            category_id: "no-such-category".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .list_products(ListProductsRequest {
            category_id: "Kitchen!".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["category_id"]);
    let status = client
        .list_products(ListProductsRequest {
            page_size: -1,
            page_token: "garbage".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_size", "page_token"]);
    // A token is bound to the filter that produced it.
    let first = client
        .list_products(ListProductsRequest {
            page_size: 2,
            category_id: "kitchen".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = client
        .list_products(ListProductsRequest {
            page_size: 2,
            page_token: first.next_page_token,
            category_id: "garden".to_owned(),
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_token"]);

    // Get.
    let lamp = client
        .get_product(GetProductRequest {
            product_id: ids[0].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(lamp.id, ids[0]);
    let status = client
        .get_product(GetProductRequest {
            product_id: "no-such-product".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        status.get_details_resource_info().unwrap().resource_name,
        "no-such-product"
    );
    let status = client
        .get_product(GetProductRequest {
            product_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["product_id"]);

    // BatchGet keeps the request's order, duplicates included.
    let wanted = vec![ids[3].clone(), ids[1].clone(), ids[3].clone()];
    let batch = client
        .batch_get_products(BatchGetProductsRequest {
            product_ids: wanted.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = batch.products.iter().map(|p| p.id.clone()).collect();
    assert_eq!(got, wanted);
    let empty = client
        .batch_get_products(BatchGetProductsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(empty.products.is_empty());
    let status = client
        .batch_get_products(BatchGetProductsRequest {
            product_ids: vec![
                ids[0].clone(),
                "ghost-one".to_owned(),
                "ghost-two".to_owned(),
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("ghost-one") && status.message().contains("ghost-two"));
    let status = client
        .batch_get_products(BatchGetProductsRequest {
            product_ids: vec!["ok".to_owned(), "NOT OK".to_owned()],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["product_ids[1]"]);
    let status = client
        .batch_get_products(BatchGetProductsRequest {
            product_ids: vec![ids[0].clone(); 101],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // Search: case-insensitive, every word must match, name matches first.
    let found = client
        .search_products(SearchProductsRequest {
            query: "  LAMP ".to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!found.products.is_empty());
    for product in &found.products {
        let text = format!("{} {}", product.name, product.description).to_lowercase();
        assert!(
            text.contains("lamp"),
            "{} does not mention lamp",
            product.id
        );
    }
    let in_name: Vec<bool> = found
        .products
        .iter()
        .map(|p| p.name.to_lowercase().contains("lamp"))
        .collect();
    assert!(in_name[0], "the best match has the word in its name");
    assert!(
        in_name.windows(2).all(|w| w[0] || !w[1]),
        "name matches come before description-only matches: {in_name:?}"
    );
    let narrower = client
        .search_products(SearchProductsRequest {
            query: "brass lamp".to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!narrower.products.is_empty());
    assert!(narrower.products.len() <= found.products.len());
    // Search pages cover the same results as one big page.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .search_products(SearchProductsRequest {
                query: "steel".to_owned(),
                page_size: 3,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.products.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let whole: Vec<_> = client
        .search_products(SearchProductsRequest {
            query: "steel".to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .products
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(whole.len() > 3);
    assert_eq!(paged, whole);
    // LIKE wildcards in a query are plain characters.
    let nothing = client
        .search_products(SearchProductsRequest {
            query: "%_%".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(nothing.products.is_empty());
    assert!(nothing.next_page_token.is_empty());
    for bad in ["", "   ", &"x".repeat(201)] {
        let status = client
            .search_products(SearchProductsRequest {
                query: bad.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_invalid_argument(&status, &["query"]);
    }
    let other_token = token_for_other_query(&mut client).await;
    let status = client
        .search_products(SearchProductsRequest {
            query: "lamp".to_owned(),
            page_token: other_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_token"]);

    // Categories.
    let categories = client
        .list_categories(ListCategoriesRequest {
            page_size: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(categories.categories.len(), 3);
    assert!(!categories.next_page_token.is_empty());
    let rest = client
        .list_categories(ListCategoriesRequest {
            page_size: 100,
            page_token: categories.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    let all: HashSet<_> = categories
        .categories
        .iter()
        .chain(&rest.categories)
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(all.len(), 3 + rest.categories.len());
    let kitchen = client
        .get_category(GetCategoryRequest {
            category_id: "kitchen".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!(kitchen.display_name, "Kitchen");
    let status = client
        .get_category(GetCategoryRequest {
            category_id: "nowhere".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

async fn token_for_other_query(client: &mut CatalogServiceClient<Channel>) -> String {
    let page = client
        .search_products(SearchProductsRequest {
            query: "steel".to_owned(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    page.next_page_token
}

#[tokio::test]
async fn the_contract_holds_on_sqlite_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    assert!(dir.path().join("catalog.db").exists());

    // A second start on the same file does not seed twice.
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    let page = running
        .client
        .clone()
        .list_products(ListProductsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.products.len(), seed_count().min(100));
    running.stop().await;
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    on_postgres("catalog::the_contract_holds_on_postgres", async |url| {
        let dir = tempfile::tempdir().unwrap();
        let running = Running::start(dir.path(), Some(url)).await;
        running.wait_until_serving().await;
        contract_holds(&running).await;
        running.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_means_not_serving_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(unreachable_postgres_url())).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let status = running
        .client
        .clone()
        .list_products(ListProductsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    // It stops cleanly while still waiting for its database.
    running.stop().await;
}
