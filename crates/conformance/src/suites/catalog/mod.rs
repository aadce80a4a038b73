//! Catalog: public, read-only listing, lookup and search of products and categories.
//!
//! One file per part of the contract: `categories` (ListCategories, GetCategory),
//! `list_products`, `get_product` (GetProduct, BatchGetProducts) and `search_products`. The
//! full listings they all compare against are walked here.

mod categories;
mod get_product;
mod list_products;
mod search_products;

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::*;
use tonic::transport::Channel;

use crate::Runner;
use crate::check::{Checked, ok};
use crate::pages::walk;
use crate::target::{Target, garbage_token};

type Client = CatalogServiceClient<Channel>;

/// Runs every catalog check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CatalogServiceClient::new(target.own());
    r.check(
        "ListCategories pages through every category in id order",
        categories::categories_paged(c.clone()),
    )
    .await;
    r.check(
        "GetCategory returns each listed category",
        categories::categories_gettable(c.clone()),
    )
    .await;
    r.check(
        "GetCategory: malformed id is INVALID_ARGUMENT, unknown id NOT_FOUND",
        categories::category_errors(c.clone()),
    )
    .await;
    r.check(
        "ListProducts pages through every product in id order, with valid fields",
        list_products::products_paged(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: default page size 20, at most 100 per page",
        list_products::products_page_sizes(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: negative page_size and bad page_token are INVALID_ARGUMENT",
        list_products::products_bad_paging(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: a page token reused with another category_id is INVALID_ARGUMENT",
        list_products::products_token_bound(c.clone()),
    )
    .await;
    r.check(
        "ListProducts with category_id lists exactly the products of that category",
        list_products::products_by_category(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: malformed category_id INVALID_ARGUMENT, unknown NOT_FOUND",
        list_products::products_category_errors(c.clone()),
    )
    .await;
    r.check(
        "GetProduct returns the listed product",
        get_product::product_gettable(c.clone()),
    )
    .await;
    r.check(
        "GetProduct: malformed id INVALID_ARGUMENT, unknown id NOT_FOUND with ResourceInfo",
        get_product::product_errors(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts keeps request order and duplicates; empty gives empty",
        get_product::batch_order(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts: any unknown id fails NOT_FOUND naming every unknown id",
        get_product::batch_unknown(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts: more than 100 ids or a malformed id is INVALID_ARGUMENT",
        get_product::batch_invalid(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: every word matches name or description, case-insensitively",
        search_products::search_matches(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts ranks by words in the name, ties by id, and pages like one list",
        search_products::search_ranking(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: blank or over-200-character query is INVALID_ARGUMENT",
        search_products::search_invalid(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: a page token reused with another query is INVALID_ARGUMENT",
        search_products::search_token_bound(c.clone()),
    )
    .await;
    r.check(
        "an authorization header, even a bad one, is ignored",
        public_access(c.clone()),
    )
    .await;
}

async fn all_categories(c: Client, page_size: i32) -> Checked<Vec<Category>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        async move {
            let page = ok(
                c.list_categories(ListCategoriesRequest {
                    page_size,
                    page_token,
                })
                .await,
                "ListCategories",
            )?;
            Ok((page.categories, page.next_page_token))
        }
    })
    .await
}

async fn all_products(c: &Client, page_size: i32, category_id: &str) -> Checked<Vec<Product>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        let category_id = category_id.to_owned();
        async move {
            let page = ok(
                c.list_products(ListProductsRequest {
                    page_size,
                    page_token,
                    category_id,
                })
                .await,
                "ListProducts",
            )?;
            Ok((page.products, page.next_page_token))
        }
    })
    .await
}

async fn public_access(mut c: Client) -> Checked {
    ok(
        c.list_products(garbage_token(ListProductsRequest::default()))
            .await,
        "ListProducts with a bad authorization header",
    )?;
    ok(
        c.list_categories(garbage_token(ListCategoriesRequest::default()))
            .await,
        "ListCategories with a bad authorization header",
    )?;
    Ok(())
}
