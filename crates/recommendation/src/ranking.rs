//! The ranking, as the contract states it: products bought together with the context first
//! (most orders together first), then other products of the context's categories (best
//! sellers first), then the shop's best sellers; never a context product, never a product
//! twice. Pure: the model and the catalog's answer come in, a page comes out.
//!
//! Pages continue after the rank of the last product shown ([`Cursor`]), not at an offset.
//! Counts only grow, so between two pages a product can only move to a better rank, before
//! the cursor, and is not shown again. The one move the other way is a same-category product
//! falling to "best seller" when the catalog cannot be reached: so when a listing that
//! already showed same-category products cannot reach the catalog for its next page, it ends
//! there rather than risk repeating a product.

use std::collections::HashSet;

use crate::domain::{Context, Cursor, ProductId, Reason, Recommendation};
use crate::model::Model;

/// One page of recommendations, and where the next one starts (`None`: the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Best first.
    pub recommendations: Vec<Recommendation>,
    /// Where the next page starts.
    pub next: Option<Cursor>,
}

/// The page of at most `size` recommendations for `context` after `cursor`. `same_category`
/// is what the catalog says: the products that share a category with the context, or `None`
/// when the catalog could not be asked.
pub fn page(
    model: &Model,
    context: &Context,
    same_category: Option<&HashSet<ProductId>>,
    cursor: Option<&Cursor>,
    size: u32,
) -> Page {
    if let Some(cursor) = cursor
        && cursor.with_categories
        && same_category.is_none()
        && cursor.after.0 >= Reason::SameCategory
    {
        return Page {
            recommendations: Vec::new(),
            next: None,
        };
    }
    let mut taken: HashSet<&ProductId> = context.products().iter().collect();

    let mut together: Vec<Recommendation> = model
        .bought_with(context.products())
        .into_iter()
        .filter(|(product, _)| !context.contains(product))
        .map(|(product, score)| Recommendation {
            product,
            reason: Reason::BoughtTogether,
            score,
        })
        .collect();
    together.sort_by_key(Recommendation::rank);

    let mut related: Vec<Recommendation> = same_category
        .into_iter()
        .flatten()
        .filter(|product| {
            !context.contains(product) && !together.iter().any(|r| r.product == **product)
        })
        .map(|product| Recommendation {
            product: product.clone(),
            reason: Reason::SameCategory,
            score: model.sold(product),
        })
        .collect();
    related.sort_by_key(Recommendation::rank);

    taken.extend(together.iter().map(|r| &r.product));
    taken.extend(related.iter().map(|r| &r.product));
    let popular = model
        .best_sellers()
        .filter(|(product, _)| !taken.contains(product))
        .map(|(product, units)| Recommendation {
            product: product.clone(),
            reason: Reason::Popular,
            score: units,
        });

    let after = cursor.map(|c| &c.after);
    let limit = size as usize;
    let mut recommendations: Vec<Recommendation> = together
        .iter()
        .cloned()
        .chain(related.iter().cloned())
        .chain(popular)
        .filter(|r| after.is_none_or(|after| r.rank() > *after))
        .take(limit + 1)
        .collect();
    let next = if recommendations.len() > limit {
        recommendations.truncate(limit);
        recommendations.last().map(|last| Cursor {
            after: last.rank(),
            with_categories: same_category.is_some(),
        })
    } else {
        None
    };
    Page {
        recommendations,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::orders::v1::{Order, OrderEvent, OrderEventType, OrderItem};

    fn id(s: &str) -> ProductId {
        ProductId::parse(s).unwrap()
    }

    fn model(orders: &[&[(&str, i32)]]) -> Model {
        let mut model = Model::new();
        for (n, items) in orders.iter().enumerate() {
            model.learn(&OrderEvent {
                event_id: format!("e{n}"),
                sequence: n as i64 + 1,
                r#type: OrderEventType::Placed as i32,
                order: Some(Order {
                    items: items
                        .iter()
                        .map(|(p, q)| OrderItem {
                            product_id: (*p).to_owned(),
                            quantity: *q,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        model
    }

    fn context(ids: &[&str]) -> Context {
        Context::parse(&ids.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap()
    }

    fn listed(page: &Page) -> Vec<(String, Reason)> {
        page.recommendations
            .iter()
            .map(|r| (r.product.as_str().to_owned(), r.reason))
            .collect()
    }

    #[test]
    fn bought_together_then_same_category_then_best_sellers() {
        let model = model(&[
            &[("kettle", 1), ("mug", 1)],
            &[("kettle", 1), ("mug", 1), ("lamp", 1)],
            &[("kettle", 1), ("lamp", 1)],
            &[("kettle", 1), ("mug", 1)],
            &[("pen", 7)],
            &[("pan", 1)],
        ]);
        let kitchen: HashSet<ProductId> = ["mug", "pan", "teapot", "kettle"].map(id).into();
        let page = page(&model, &context(&["kettle"]), Some(&kitchen), None, 20);
        assert_eq!(
            listed(&page),
            [
                ("mug".to_owned(), Reason::BoughtTogether),
                ("lamp".to_owned(), Reason::BoughtTogether),
                ("pan".to_owned(), Reason::SameCategory),
                ("teapot".to_owned(), Reason::SameCategory),
                ("pen".to_owned(), Reason::Popular),
            ]
        );
        assert_eq!(page.next, None);
    }

    #[test]
    fn no_context_means_best_sellers_only() {
        let model = model(&[&[("a", 1), ("b", 3)], &[("c", 2)]]);
        let page = page(&model, &context(&[]), Some(&HashSet::new()), None, 5);
        let ids: Vec<_> = listed(&page).into_iter().map(|(p, _)| p).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }

    #[test]
    fn pages_continue_after_the_last_rank_without_repeating() {
        let model = model(&[&[("a", 1), ("b", 1)], &[("a", 1), ("c", 1)], &[("d", 4)]]);
        let category: HashSet<ProductId> = ["e", "f"].map(id).into();
        let context = context(&["a"]);
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = page(&model, &context, Some(&category), cursor.as_ref(), 2);
            seen.extend(listed(&page).into_iter().map(|(p, _)| p));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["b", "c", "e", "f", "d"]);
    }

    #[test]
    fn a_listing_that_showed_categories_ends_when_the_catalog_is_gone() {
        let model = model(&[&[("a", 1), ("b", 1)], &[("d", 4)]]);
        let category: HashSet<ProductId> = ["e", "f"].map(id).into();
        let context = context(&["a"]);
        let first = page(&model, &context, Some(&category), None, 2);
        assert_eq!(listed(&first).len(), 2);
        let next = first.next.unwrap();
        assert!(next.with_categories);
        // Without the catalog, "f" would come back as a best seller... it does not.
        let second = page(&model, &context, None, Some(&next), 2);
        assert_eq!(
            second,
            Page {
                recommendations: vec![],
                next: None
            }
        );
        // A listing still in the bought-together part just goes on.
        let first = page(&model, &context, Some(&category), None, 1);
        let second = page(&model, &context, None, first.next.as_ref(), 5);
        let ids: Vec<_> = listed(&second).into_iter().map(|(p, _)| p).collect();
        assert_eq!(ids, ["d"]);
    }
}
