//! Catalog: public, read-only listing, lookup and search of products and categories.

use std::collections::BTreeSet;

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::*;
use tonic::Code;
use tonic::transport::Channel;

use super::{is_slug, repeat, valid_money};
use crate::check::{Checked, fail, invalid, ok, refused, resource_infos, violation};
use crate::pages::{strictly_ascending, tamper, walk};
use crate::target::{Target, garbage_token, unique};
use crate::{Runner, ensure};

type Client = CatalogServiceClient<Channel>;

/// Runs every catalog check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = CatalogServiceClient::new(target.own());
    r.check(
        "ListCategories pages through every category in id order",
        categories_paged(c.clone()),
    )
    .await;
    r.check(
        "GetCategory returns each listed category",
        categories_gettable(c.clone()),
    )
    .await;
    r.check(
        "GetCategory: malformed id is INVALID_ARGUMENT, unknown id NOT_FOUND",
        category_errors(c.clone()),
    )
    .await;
    r.check(
        "ListProducts pages through every product in id order, with valid fields",
        products_paged(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: default page size 20, at most 100 per page",
        products_page_sizes(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: negative page_size and bad page_token are INVALID_ARGUMENT",
        products_bad_paging(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: a page token reused with another category_id is INVALID_ARGUMENT",
        products_token_bound(c.clone()),
    )
    .await;
    r.check(
        "ListProducts with category_id lists exactly the products of that category",
        products_by_category(c.clone()),
    )
    .await;
    r.check(
        "ListProducts: malformed category_id INVALID_ARGUMENT, unknown NOT_FOUND",
        products_category_errors(c.clone()),
    )
    .await;
    r.check(
        "GetProduct returns the listed product",
        product_gettable(c.clone()),
    )
    .await;
    r.check(
        "GetProduct: malformed id INVALID_ARGUMENT, unknown id NOT_FOUND with ResourceInfo",
        product_errors(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts keeps request order and duplicates; empty gives empty",
        batch_order(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts: any unknown id fails NOT_FOUND naming every unknown id",
        batch_unknown(c.clone()),
    )
    .await;
    r.check(
        "BatchGetProducts: more than 100 ids or a malformed id is INVALID_ARGUMENT",
        batch_invalid(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: every word matches name or description, case-insensitively",
        search_matches(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts ranks by words in the name, ties by id, and pages like one list",
        search_ranking(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: blank or over-200-character query is INVALID_ARGUMENT",
        search_invalid(c.clone()),
    )
    .await;
    r.check(
        "SearchProducts: a page token reused with another query is INVALID_ARGUMENT",
        search_token_bound(c.clone()),
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

async fn categories_paged(c: Client) -> Checked {
    let categories = all_categories(c.clone(), 1).await?;
    ensure!(!categories.is_empty(), "the catalog lists no category");
    let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    strictly_ascending(&ids, "category ids")?;
    for category in &categories {
        ensure!(
            is_slug(&category.id),
            "category id {:?} is not a slug",
            category.id
        );
        let name = category.display_name.chars().count();
        ensure!(
            (1..=60).contains(&name),
            "category {} has a display_name of {name} characters",
            category.id
        );
        ensure!(
            category.description.chars().count() <= 1000,
            "category {} has a description over 1000 characters",
            category.id
        );
    }
    let in_one = all_categories(c, 100).await?;
    ensure!(
        in_one == categories,
        "pages of 1 and pages of 100 list different categories"
    );
    Ok(())
}

async fn categories_gettable(mut c: Client) -> Checked {
    for category in all_categories(c.clone(), 100).await? {
        let got = ok(
            c.get_category(GetCategoryRequest {
                category_id: category.id.clone(),
            })
            .await,
            "GetCategory",
        )?;
        ensure!(
            got.category.as_ref() == Some(&category),
            "GetCategory({}) differs from the listing: {:?}",
            category.id,
            got.category
        );
    }
    Ok(())
}

async fn category_errors(mut c: Client) -> Checked {
    invalid(
        c.get_category(GetCategoryRequest {
            category_id: "Not A Slug".into(),
        })
        .await,
        "category_id",
        "GetCategory(\"Not A Slug\")",
    )?;
    invalid(
        c.get_category(GetCategoryRequest {
            category_id: String::new(),
        })
        .await,
        "category_id",
        "GetCategory(\"\")",
    )?;
    refused(
        c.get_category(GetCategoryRequest {
            category_id: unique("no-such-category"),
        })
        .await,
        Code::NotFound,
        "GetCategory(unknown)",
    )?;
    let status = refused(
        c.list_categories(ListCategoriesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "ListCategories(page_size -1)",
    )?;
    violation(&status, "page_size", "ListCategories(page_size -1)")?;
    let status = refused(
        c.list_categories(ListCategoriesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "ListCategories(page_token \"garbage\")",
    )?;
    violation(
        &status,
        "page_token",
        "ListCategories(page_token \"garbage\")",
    )
}

async fn products_paged(c: Client) -> Checked {
    let products = all_products(&c, 7, "").await?;
    ensure!(!products.is_empty(), "the catalog lists no product");
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    strictly_ascending(&ids, "product ids")?;
    for p in &products {
        ensure!(is_slug(&p.id), "product id {:?} is not a slug", p.id);
        let name = p.name.chars().count();
        ensure!(
            (1..=120).contains(&name),
            "product {} has a name of {name} characters",
            p.id
        );
        ensure!(
            p.description.chars().count() <= 5000,
            "product {} has a description over 5000 characters",
            p.id
        );
        let price = valid_money(p.price.as_ref(), "USD", &format!("price of {}", p.id))?;
        ensure!(
            price.units > 0 || price.nanos > 0,
            "product {} has a price that is not positive",
            p.id
        );
        ensure!(
            price.nanos % 10_000_000 == 0,
            "product {} has a price that is not whole cents (nanos {})",
            p.id,
            price.nanos
        );
        ensure!(
            p.category_ids.len() <= 10,
            "product {} has {} categories",
            p.id,
            p.category_ids.len()
        );
        let distinct: BTreeSet<&String> = p.category_ids.iter().collect();
        ensure!(
            distinct.len() == p.category_ids.len(),
            "product {} lists a category twice",
            p.id
        );
        ensure!(
            !p.picture_uri.is_empty(),
            "product {} has an empty picture_uri",
            p.id
        );
    }
    let in_one = all_products(&c, 100, "").await?;
    ensure!(
        in_one == products,
        "pages of 7 and pages of 100 list different products"
    );
    Ok(())
}

async fn products_page_sizes(mut c: Client) -> Checked {
    let default = ok(
        c.list_products(ListProductsRequest::default()).await,
        "ListProducts(page_size 0)",
    )?;
    ensure!(
        default.products.len() <= 20,
        "page_size 0 gave {} products, more than the default 20",
        default.products.len()
    );
    let huge = ok(
        c.list_products(ListProductsRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await,
        "ListProducts(page_size 100000)",
    )?;
    ensure!(
        huge.products.len() <= 100,
        "page_size 100000 gave {} products, more than the maximum 100",
        huge.products.len()
    );
    let one = ok(
        c.list_products(ListProductsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await,
        "ListProducts(page_size 1)",
    )?;
    ensure!(
        one.products.len() <= 1,
        "page_size 1 gave {} products",
        one.products.len()
    );
    Ok(())
}

async fn products_bad_paging(mut c: Client) -> Checked {
    invalid(
        c.list_products(ListProductsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size",
        "ListProducts(page_size -1)",
    )?;
    invalid(
        c.list_products(ListProductsRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListProducts(page_token \"garbage\")",
    )?;
    let first = ok(
        c.list_products(ListProductsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await,
        "ListProducts(page_size 1)",
    )?;
    if first.next_page_token.is_empty() {
        return Ok(()); // a one-product catalog has no token to tamper with
    }
    let tampered = tamper(&first.next_page_token);
    invalid(
        c.list_products(ListProductsRequest {
            page_size: 1,
            page_token: tampered,
            ..Default::default()
        })
        .await,
        "page_token",
        "ListProducts(tampered page_token)",
    )
}

async fn products_token_bound(mut c: Client) -> Checked {
    let first = ok(
        c.list_products(ListProductsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await,
        "ListProducts(page_size 1)",
    )?;
    ensure!(
        !first.next_page_token.is_empty() || first.products.len() <= 1,
        "page_size 1 of a catalog with more products returned no next_page_token"
    );
    if first.next_page_token.is_empty() {
        return Ok(());
    }
    let categories = all_categories(c.clone(), 100).await?;
    let Some(category) = categories.first() else {
        return fail("no category to bind the token to");
    };
    invalid(
        c.list_products(ListProductsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            category_id: category.id.clone(),
        })
        .await,
        "page_token",
        "ListProducts(token of the unfiltered listing, with category_id)",
    )
}

async fn products_by_category(c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    for category in all_categories(c.clone(), 100).await? {
        let listed: Vec<String> = all_products(&c, 3, &category.id)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let expected: Vec<String> = products
            .iter()
            .filter(|p| p.category_ids.contains(&category.id))
            .map(|p| p.id.clone())
            .collect();
        ensure!(
            listed == expected,
            "category {} lists {listed:?}; products naming it are {expected:?}",
            category.id
        );
    }
    Ok(())
}

async fn products_category_errors(mut c: Client) -> Checked {
    invalid(
        c.list_products(ListProductsRequest {
            category_id: "Not A Slug".into(),
            ..Default::default()
        })
        .await,
        "category_id",
        "ListProducts(category_id \"Not A Slug\")",
    )?;
    refused(
        c.list_products(ListProductsRequest {
            category_id: unique("no-such-category"),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        "ListProducts(unknown category_id)",
    )?;
    Ok(())
}

async fn product_gettable(mut c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    for p in products.iter().take(10).chain(products.last()) {
        let got = ok(
            c.get_product(GetProductRequest {
                product_id: p.id.clone(),
            })
            .await,
            "GetProduct",
        )?;
        ensure!(
            got.product.as_ref() == Some(p),
            "GetProduct({}) differs from the listing: {:?}",
            p.id,
            got.product
        );
    }
    Ok(())
}

async fn product_errors(mut c: Client) -> Checked {
    invalid(
        c.get_product(GetProductRequest {
            product_id: "Not A Slug".into(),
        })
        .await,
        "product_id",
        "GetProduct(\"Not A Slug\")",
    )?;
    invalid(
        c.get_product(GetProductRequest {
            product_id: String::new(),
        })
        .await,
        "product_id",
        "GetProduct(\"\")",
    )?;
    invalid(
        c.get_product(GetProductRequest {
            product_id: repeat('a', 64),
        })
        .await,
        "product_id",
        "GetProduct(64 characters)",
    )?;
    let unknown = unique("no-such-product");
    let status = refused(
        c.get_product(GetProductRequest {
            product_id: unknown.clone(),
        })
        .await,
        Code::NotFound,
        "GetProduct(unknown)",
    )?;
    let infos = resource_infos(&status);
    ensure!(
        infos.iter().any(|i| i.resource_name == unknown),
        "NOT_FOUND of GetProduct carries no ResourceInfo naming {unknown:?}: {infos:?}"
    );
    Ok(())
}

async fn batch_order(mut c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    let (Some(a), Some(b)) = (products.first(), products.last()) else {
        return fail("the catalog lists no product");
    };
    let ids = vec![b.id.clone(), a.id.clone(), b.id.clone()];
    let got = ok(
        c.batch_get_products(BatchGetProductsRequest {
            product_ids: ids.clone(),
        })
        .await,
        "BatchGetProducts",
    )?;
    let got_ids: Vec<String> = got.products.iter().map(|p| p.id.clone()).collect();
    ensure!(
        got_ids == ids,
        "BatchGetProducts({ids:?}) returned {got_ids:?}"
    );
    ensure!(
        got.products[1] == *a && got.products[0] == *b,
        "BatchGetProducts returns products that differ from the listing"
    );
    let empty = ok(
        c.batch_get_products(BatchGetProductsRequest::default())
            .await,
        "BatchGetProducts([])",
    )?;
    ensure!(
        empty.products.is_empty(),
        "BatchGetProducts([]) returned {} products",
        empty.products.len()
    );
    let hundred = vec![a.id.clone(); 100];
    let got = ok(
        c.batch_get_products(BatchGetProductsRequest {
            product_ids: hundred,
        })
        .await,
        "BatchGetProducts(100 ids)",
    )?;
    ensure!(
        got.products.len() == 100,
        "BatchGetProducts(100 ids) returned {}",
        got.products.len()
    );
    Ok(())
}

async fn batch_unknown(mut c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    let Some(known) = products.first() else {
        return fail("the catalog lists no product");
    };
    let (x, y) = (unique("no-such-product"), unique("no-such-product"));
    let status = refused(
        c.batch_get_products(BatchGetProductsRequest {
            product_ids: vec![x.clone(), known.id.clone(), y.clone()],
        })
        .await,
        Code::NotFound,
        "BatchGetProducts(two unknown ids)",
    )?;
    ensure!(
        status.message().contains(&x) && status.message().contains(&y),
        "the NOT_FOUND message does not list every unknown id: {:?}",
        status.message()
    );
    let infos = resource_infos(&status);
    let names: BTreeSet<&str> = infos.iter().map(|i| i.resource_name.as_str()).collect();
    ensure!(
        infos.len() == 2 && names.contains(x.as_str()) && names.contains(y.as_str()),
        "expected one ResourceInfo per unknown id, got {infos:?}"
    );
    ensure!(
        infos
            .iter()
            .all(|i| i.resource_type == "bazaar.catalog.v1.Product"),
        "ResourceInfo resource_type is not \"bazaar.catalog.v1.Product\": {infos:?}"
    );
    Ok(())
}

async fn batch_invalid(mut c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    let Some(known) = products.first() else {
        return fail("the catalog lists no product");
    };
    let status = refused(
        c.batch_get_products(BatchGetProductsRequest {
            product_ids: vec![known.id.clone(); 101],
        })
        .await,
        Code::InvalidArgument,
        "BatchGetProducts(101 ids)",
    )?;
    crate::check::violation_within(&status, "product_ids", "BatchGetProducts(101 ids)")?;
    let status = refused(
        c.batch_get_products(BatchGetProductsRequest {
            product_ids: vec![known.id.clone(), "Bad Id".into()],
        })
        .await,
        Code::InvalidArgument,
        "BatchGetProducts(a malformed id)",
    )?;
    crate::check::violation_within(&status, "product_ids", "BatchGetProducts(a malformed id)")
}

/// Whether `p` matches every word of `query` (the contract's rule).
fn matches(p: &Product, query: &str) -> bool {
    let name = p.name.to_lowercase();
    let description = p.description.to_lowercase();
    query
        .split_whitespace()
        .map(str::to_lowercase)
        .all(|w| name.contains(&w) || description.contains(&w))
}

/// How many of the distinct words of `query` occur in the product's name.
fn words_in_name(p: &Product, query: &str) -> usize {
    let name = p.name.to_lowercase();
    let words: BTreeSet<String> = query.split_whitespace().map(str::to_lowercase).collect();
    words.iter().filter(|w| name.contains(w.as_str())).count()
}

async fn search_all(c: &Client, query: &str, page_size: i32) -> Checked<Vec<Product>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        let query = query.to_owned();
        async move {
            let page = ok(
                c.search_products(SearchProductsRequest {
                    query,
                    page_size,
                    page_token,
                })
                .await,
                "SearchProducts",
            )?;
            Ok((page.products, page.next_page_token))
        }
    })
    .await
}

/// A word from the first product's name and one from the last product's description: one
/// query likely to match by name, one likely to match by description too.
async fn sample_queries(c: &Client) -> Checked<Vec<String>> {
    let products = all_products(c, 100, "").await?;
    let mut queries = Vec::new();
    for p in [
        products.first(),
        products.get(products.len() / 2),
        products.last(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(word) = p.name.split_whitespace().max_by_key(|w| w.len()) {
            queries.push(word.to_uppercase());
        }
        if let Some(word) = p
            .description
            .split_whitespace()
            .filter(|w| w.chars().all(char::is_alphabetic))
            .max_by_key(|w| w.len())
        {
            queries.push(word.to_lowercase());
        }
    }
    queries.push("a e".to_owned());
    Ok(queries)
}

async fn search_matches(c: Client) -> Checked {
    let products = all_products(&c, 100, "").await?;
    for query in sample_queries(&c).await? {
        let found = search_all(&c, &query, 100).await?;
        let found_ids: BTreeSet<&str> = found.iter().map(|p| p.id.as_str()).collect();
        let expected: BTreeSet<&str> = products
            .iter()
            .filter(|p| matches(p, &query))
            .map(|p| p.id.as_str())
            .collect();
        ensure!(
            found_ids == expected,
            "SearchProducts({query:?}) found {found_ids:?}; products matching every word are {expected:?}"
        );
        ensure!(
            found_ids.len() == found.len(),
            "SearchProducts({query:?}) lists a product twice"
        );
    }
    Ok(())
}

async fn search_ranking(c: Client) -> Checked {
    for query in sample_queries(&c).await? {
        let found = search_all(&c, &query, 100).await?;
        // The contract ranks by the number of the query's distinct words in the name, most
        // first, then by id.
        let keys: Vec<(usize, &str)> = found
            .iter()
            .map(|p| (usize::MAX - words_in_name(p, &query), p.id.as_str()))
            .collect();
        ensure!(
            keys.windows(2).all(|pair| pair[0] < pair[1]),
            "SearchProducts({query:?}) is not ordered by words in the name, then id: {:?}",
            found.iter().map(|p| &p.id).collect::<Vec<_>>()
        );
        let paged = search_all(&c, &query, 2).await?;
        ensure!(
            paged == found,
            "SearchProducts({query:?}) in pages of 2 differs from one page of 100"
        );
    }
    Ok(())
}

async fn search_invalid(mut c: Client) -> Checked {
    let search = |query: String, page_size: i32, page_token: &str| SearchProductsRequest {
        query,
        page_size,
        page_token: page_token.to_owned(),
    };
    invalid(
        c.search_products(search(String::new(), 0, "")).await,
        "query",
        "SearchProducts(\"\")",
    )?;
    invalid(
        c.search_products(search("   ".into(), 0, "")).await,
        "query",
        "SearchProducts(blank)",
    )?;
    invalid(
        c.search_products(search(repeat('a', 201), 0, "")).await,
        "query",
        "SearchProducts(201 characters)",
    )?;
    ok(
        c.search_products(search(format!("  {}  ", repeat('a', 200)), 0, ""))
            .await,
        "SearchProducts(200 characters between spaces)",
    )?;
    ok(
        c.search_products(search(repeat('é', 200), 0, "")).await,
        "SearchProducts(200 two-byte characters)",
    )?;
    invalid(
        c.search_products(search("lamp".into(), -1, "")).await,
        "page_size",
        "SearchProducts(page_size -1)",
    )?;
    invalid(
        c.search_products(search("lamp".into(), 0, "garbage")).await,
        "page_token",
        "SearchProducts(page_token \"garbage\")",
    )
}

async fn search_token_bound(mut c: Client) -> Checked {
    for query in sample_queries(&c).await? {
        let first = ok(
            c.search_products(SearchProductsRequest {
                query: query.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await,
            "SearchProducts",
        )?;
        if first.next_page_token.is_empty() {
            continue;
        }
        return invalid(
            c.search_products(SearchProductsRequest {
                query: format!("{query} x"),
                page_size: 1,
                page_token: first.next_page_token,
            })
            .await,
            "page_token",
            "SearchProducts(token of another query)",
        );
    }
    fail("no sample query matched more than one product, so no page token could be tried")
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
