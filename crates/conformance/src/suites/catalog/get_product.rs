//! GetProduct and BatchGetProducts: the listed products, in request order; unknown ids
//! named in ResourceInfo details; malformed or too many ids refused.

use std::collections::BTreeSet;

use bazaar_contract::catalog::v1::*;
use tonic::Code;

use super::{Client, all_products};
use crate::check::{Checked, fail, invalid, ok, refused, resource_infos};
use crate::ensure;
use crate::suites::repeat;
use crate::target::unique;

pub(super) async fn product_gettable(mut c: Client) -> Checked {
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

pub(super) async fn product_errors(mut c: Client) -> Checked {
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

pub(super) async fn batch_order(mut c: Client) -> Checked {
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

pub(super) async fn batch_unknown(mut c: Client) -> Checked {
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

pub(super) async fn batch_invalid(mut c: Client) -> Checked {
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
