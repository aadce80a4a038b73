//! Recommendation: validation and paging of ListRecommendations, the ranking rules that
//! can be checked from outside (never a context product, never twice, bought-together
//! before same-category before best sellers, same-category means a shared category), and,
//! given a shop to place an order in, that products bought together are recommended
//! together.

use std::collections::BTreeSet;

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::{BatchGetProductsRequest, Product};
use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use bazaar_contract::recommendation::v1::*;
use tonic::Code;
use tonic::transport::Channel;

use super::{is_slug, pause};
use crate::check::{Checked, fail, invalid, ok, refused, violation_within};
use crate::pages::walk;
use crate::shopper::{placed_order, products};
use crate::target::{Target, garbage_token, unique};
use crate::{Runner, ensure};

type Client = RecommendationServiceClient<Channel>;

/// Runs every recommendation check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = RecommendationServiceClient::new(target.own());
    r.check("ListRecommendations: over 50 or malformed ids, negative page_size, bad page_token are INVALID_ARGUMENT", invalid_requests(c.clone())).await;
    r.check(
        "unknown and duplicated context ids are allowed; an authorization header is ignored",
        lenient(c.clone()),
    )
    .await;
    r.check(
        "recommendations never hold a context product or a product twice, and respect page sizes",
        shape(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "ranking: bought together, then same category (sharing a category), then best sellers",
        ranking(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a page token reused with other product_ids is INVALID_ARGUMENT",
        token_bound(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "products bought in one order are recommended with each other as BOUGHT_TOGETHER",
        bought_together(c.clone(), target.clone()),
    )
    .await;
}

fn request(ids: &[&str], page_size: i32, page_token: &str) -> ListRecommendationsRequest {
    ListRecommendationsRequest {
        product_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        page_size,
        page_token: page_token.to_owned(),
    }
}

async fn all(c: &Client, ids: &[&str], page_size: i32) -> Checked<Vec<Recommendation>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        let request = request(ids, page_size, &page_token);
        async move {
            let page = ok(c.list_recommendations(request).await, "ListRecommendations")?;
            Ok((page.recommendations, page.next_page_token))
        }
    })
    .await
}

async fn invalid_requests(mut c: Client) -> Checked {
    let many: Vec<String> = (0..51).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let status = refused(
        c.list_recommendations(request(&refs, 0, "")).await,
        Code::InvalidArgument,
        "ListRecommendations(51 ids)",
    )?;
    violation_within(&status, "product_ids", "ListRecommendations(51 ids)")?;
    ok(
        c.list_recommendations(request(&refs[..50], 0, "")).await,
        "ListRecommendations(50 ids)",
    )?;
    let status = refused(
        c.list_recommendations(request(&["lamp", "Not A Slug"], 0, ""))
            .await,
        Code::InvalidArgument,
        "ListRecommendations(a malformed id)",
    )?;
    violation_within(
        &status,
        "product_ids",
        "ListRecommendations(a malformed id)",
    )?;
    invalid(
        c.list_recommendations(request(&[], -1, "")).await,
        "page_size",
        "ListRecommendations(page_size -1)",
    )?;
    invalid(
        c.list_recommendations(request(&[], 0, "garbage")).await,
        "page_token",
        "ListRecommendations(page_token \"garbage\")",
    )
}

async fn lenient(mut c: Client) -> Checked {
    let unknown = unique("no-such-product");
    ok(
        c.list_recommendations(request(&[&unknown, &unknown], 0, ""))
            .await,
        "ListRecommendations(an unknown id twice)",
    )?;
    ok(
        c.list_recommendations(garbage_token(request(&[], 0, "")))
            .await,
        "ListRecommendations with a bad authorization header",
    )?;
    Ok(())
}

fn check_list(list: &[Recommendation], context: &[&str], what: &str) -> Checked {
    let mut seen = BTreeSet::new();
    for r in list {
        ensure!(
            is_slug(&r.product_id),
            "{what}: {:?} is not a product id",
            r.product_id
        );
        ensure!(
            !context.contains(&r.product_id.as_str()),
            "{what} recommends the context product {}",
            r.product_id
        );
        ensure!(
            seen.insert(r.product_id.clone()),
            "{what} recommends {} twice",
            r.product_id
        );
        ensure!(
            r.reason() != RecommendationReason::Unspecified,
            "{what}: {} has no reason",
            r.product_id
        );
    }
    Ok(())
}

async fn shape(mut c: Client, target: Target) -> Checked {
    let list = products(&target, 3).await?;
    let context = [list[0].id.as_str(), list[2].id.as_str()];
    let default = ok(
        c.list_recommendations(request(&context, 0, "")).await,
        "ListRecommendations(page_size 0)",
    )?;
    ensure!(
        default.recommendations.len() <= 5,
        "page_size 0 gave {}, more than the default 5",
        default.recommendations.len()
    );
    check_list(&default.recommendations, &context, "the first page")?;
    let big = ok(
        c.list_recommendations(request(&context, 1_000, "")).await,
        "ListRecommendations(page_size 1000)",
    )?;
    ensure!(
        big.recommendations.len() <= 20,
        "page_size 1000 gave {}, more than the maximum 20",
        big.recommendations.len()
    );
    let paged = all(&c, &context, 2).await?;
    check_list(&paged, &context, "the listing in pages of 2")?;
    let whole = all(&c, &context, 20).await?;
    ensure!(
        paged == whole,
        "pages of 2 and pages of 20 give different listings"
    );
    Ok(())
}

async fn categories_of(target: &Target, ids: &[String]) -> Checked<Vec<Product>> {
    let mut catalog = CatalogServiceClient::new(target.channel("catalog")?);
    Ok(ok(
        catalog
            .batch_get_products(BatchGetProductsRequest {
                product_ids: ids.to_vec(),
            })
            .await,
        "catalog BatchGetProducts",
    )?
    .products)
}

async fn ranking(c: Client, target: Target) -> Checked {
    let list = products(&target, 1).await?;
    let context = [list[0].id.as_str()];
    let recommended = all(&c, &context, 20).await?;
    let ranks: Vec<i32> = recommended.iter().map(|r| r.reason).collect();
    ensure!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "reasons are not in the order bought together, same category, popular: {:?}",
        recommended
            .iter()
            .map(|r| r.reason().as_str_name())
            .collect::<Vec<_>>()
    );
    let same: Vec<String> = recommended
        .iter()
        .filter(|r| r.reason() == RecommendationReason::SameCategory)
        .map(|r| r.product_id.clone())
        .collect();
    if !same.is_empty() {
        let mine: BTreeSet<&String> = list[0].category_ids.iter().collect();
        for product in categories_of(&target, &same).await? {
            ensure!(
                product.category_ids.iter().any(|c| mine.contains(c)),
                "{} is recommended for sharing a category with {}, but shares none",
                product.id,
                list[0].id
            );
        }
    }
    let popular = all(&c, &[], 20).await?;
    ensure!(
        popular
            .iter()
            .all(|r| r.reason() == RecommendationReason::Popular),
        "with no context, reasons other than POPULAR: {:?}",
        popular
            .iter()
            .map(|r| r.reason().as_str_name())
            .collect::<Vec<_>>()
    );
    Ok(())
}

async fn token_bound(mut c: Client, target: Target) -> Checked {
    let list = products(&target, 3).await?;
    for p in &list {
        let first = ok(
            c.list_recommendations(request(&[&p.id], 1, "")).await,
            "ListRecommendations(page_size 1)",
        )?;
        if first.next_page_token.is_empty() {
            continue;
        }
        return invalid(
            c.list_recommendations(request(
                &[&list[0].id, &list[1].id],
                1,
                &first.next_page_token,
            ))
            .await,
            "page_token",
            "ListRecommendations(token of other product_ids)",
        );
    }
    fail("no product has more than one recommendation, so no page token could be tried")
}

async fn bought_together(c: Client, target: Target) -> Checked {
    let list = products(&target, 2).await?;
    let (a, b) = (&list[0].id, &list[1].id);
    placed_order(&target, &[a, b], 1).await?;
    for _ in 0..300 {
        let for_a = all(&c, &[a], 20).await?;
        let for_b = all(&c, &[b], 20).await?;
        let together = |list: &[Recommendation], p: &str| {
            list.iter()
                .any(|r| r.product_id == p && r.reason() == RecommendationReason::BoughtTogether)
        };
        if together(&for_a, b) && together(&for_b, a) {
            return Ok(());
        }
        pause(100).await;
    }
    fail(format!(
        "30 s after {a} and {b} were bought together, they are not both recommended with each other as BOUGHT_TOGETHER"
    ))
}
