//! ListCategories and GetCategory: every category in id order, each gettable; malformed
//! and unknown ids refused.

use bazaar_contract::catalog::v1::*;
use tonic::Code;

use super::{Client, all_categories};
use crate::check::{Checked, invalid, ok, refused, violation};
use crate::ensure;
use crate::pages::strictly_ascending;
use crate::suites::is_slug;
use crate::target::unique;

pub(super) async fn categories_paged(c: Client) -> Checked {
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

pub(super) async fn categories_gettable(mut c: Client) -> Checked {
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

pub(super) async fn category_errors(mut c: Client) -> Checked {
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
