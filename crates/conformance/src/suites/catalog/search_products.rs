//! SearchProducts: which products match, in which order, in pages; the kit derives its
//! queries from the listed products, so it checks the rule, not a fixed answer.

use std::collections::BTreeSet;

use bazaar_contract::catalog::v1::*;

use super::{Client, all_products};
use crate::check::{Checked, fail, invalid, ok};
use crate::ensure;
use crate::pages::walk;
use crate::suites::repeat;

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

pub(super) async fn search_matches(c: Client) -> Checked {
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

pub(super) async fn search_ranking(c: Client) -> Checked {
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

pub(super) async fn search_invalid(mut c: Client) -> Checked {
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

pub(super) async fn search_token_bound(mut c: Client) -> Checked {
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
