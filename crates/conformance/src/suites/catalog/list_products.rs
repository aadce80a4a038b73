//! ListProducts: every product in id order with valid fields, page sizes, page tokens
//! bound to their listing, and the filter by category.

use std::collections::BTreeSet;

use bazaar_contract::catalog::v1::*;
use tonic::Code;

use super::{Client, all_categories, all_products};
use crate::check::{Checked, fail, invalid, ok, refused};
use crate::ensure;
use crate::pages::{strictly_ascending, tamper};
use crate::suites::{is_slug, valid_money};
use crate::target::unique;

pub(super) async fn products_paged(c: Client) -> Checked {
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

/// The first page of the unfiltered listing, `page_size` products asked for.
async fn first_page(c: &mut Client, page_size: i32) -> Checked<ListProductsResponse> {
    ok(
        c.list_products(ListProductsRequest {
            page_size,
            ..Default::default()
        })
        .await,
        &format!("ListProducts(page_size {page_size})"),
    )
}

pub(super) async fn products_page_sizes(mut c: Client) -> Checked {
    let default = first_page(&mut c, 0).await?;
    ensure!(
        default.products.len() <= 20,
        "page_size 0 gave {} products, more than the default 20",
        default.products.len()
    );
    let huge = first_page(&mut c, 100_000).await?;
    ensure!(
        huge.products.len() <= 100,
        "page_size 100000 gave {} products, more than the maximum 100",
        huge.products.len()
    );
    let one = first_page(&mut c, 1).await?;
    ensure!(
        one.products.len() <= 1,
        "page_size 1 gave {} products",
        one.products.len()
    );
    Ok(())
}

pub(super) async fn products_bad_paging(mut c: Client) -> Checked {
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
    let first = first_page(&mut c, 1).await?;
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

pub(super) async fn products_token_bound(mut c: Client) -> Checked {
    let first = first_page(&mut c, 1).await?;
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

pub(super) async fn products_by_category(c: Client) -> Checked {
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

pub(super) async fn products_category_errors(mut c: Client) -> Checked {
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
