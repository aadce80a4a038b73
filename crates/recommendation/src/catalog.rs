//! What the catalog knows that recommendations need: the categories of the context
//! products, and the other products in them.
//!
//! The catalog is optional here. Every lookup of one request shares one time budget
//! (`--catalog-timeout-ms`), sent as each call's `grpc-timeout` (the chassis keeps the
//! tighter of it and the inbound deadline); any failure, or running out of time, makes the
//! whole lookup `None`, and the request is answered without same-category products rather
//! than failed. Context ids unknown to the catalog simply add nothing: `BatchGetProducts` is
//! all-or-nothing, so the ids its NOT_FOUND names are dropped and it is asked again.

use std::collections::HashSet;
use std::time::Duration;

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use bazaar_contract::catalog::v1::{BatchGetProductsRequest, ListProductsRequest};
use chassis::client::Upstream;
use tokio::task::JoinSet;
use tonic::{Code, Status};

use crate::domain::ProductId;

/// Categories of the context looked into, at most (the first ones met, in context order).
const MAX_CATEGORIES: usize = 10;
/// Products listed per category, at most, in pages of 100.
const MAX_PAGES_PER_CATEGORY: usize = 5;
/// The catalog's largest page.
const CATALOG_PAGE: i32 = 100;

/// The catalog, as recommendation uses it.
#[derive(Clone, Debug)]
pub struct Catalog {
    client: CatalogServiceClient<Upstream>,
    budget: Duration,
}

impl Catalog {
    /// Lookups through `upstream`, each request's together bounded by `budget`.
    pub fn new(upstream: Upstream, budget: Duration) -> Self {
        Self {
            client: CatalogServiceClient::new(upstream),
            budget,
        }
    }

    /// The products that share a category with one of `context`, or `None` when the
    /// catalog could not tell in time (logged).
    pub async fn same_category(&self, context: &[ProductId]) -> Option<HashSet<ProductId>> {
        if context.is_empty() {
            return Some(HashSet::new());
        }
        match tokio::time::timeout(self.budget, self.look_up(context)).await {
            Ok(Ok(products)) => Some(products),
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "catalog lookup failed; answering without categories");
                None
            }
            Err(_) => {
                tracing::warn!(
                    budget_ms = self.budget.as_millis() as u64,
                    "catalog too slow; answering without categories"
                );
                None
            }
        }
    }

    async fn look_up(&self, context: &[ProductId]) -> Result<HashSet<ProductId>, Status> {
        let categories = self.categories_of(context).await?;
        // One task per category; each keeps the inbound call's deadline, which task-locals
        // do not carry into a new task by themselves.
        let deadline = chassis::deadline::current();
        let mut lists = JoinSet::new();
        for category in categories {
            let catalog = self.clone();
            lists.spawn(async move {
                let listing = catalog.products_in(&category);
                match deadline {
                    Some(deadline) => chassis::deadline::scope(deadline, listing).await,
                    None => listing.await,
                }
            });
        }
        let mut products = HashSet::new();
        while let Some(listed) = lists.join_next().await {
            let listed = listed.map_err(|e| Status::internal(format!("lookup task: {e}")))?;
            products.extend(listed?);
        }
        Ok(products)
    }

    /// The distinct categories of the context products the catalog knows, in context order.
    async fn categories_of(&self, context: &[ProductId]) -> Result<Vec<String>, Status> {
        let mut ids: Vec<String> = context.iter().map(|p| p.as_str().to_owned()).collect();
        // Each round drops at least one unknown id, or ends.
        while !ids.is_empty() {
            let mut request = tonic::Request::new(BatchGetProductsRequest {
                product_ids: ids.clone(),
            });
            request.set_timeout(self.budget);
            match self.client.clone().batch_get_products(request).await {
                Ok(response) => {
                    let mut categories: Vec<String> = Vec::new();
                    for product in response.into_inner().products {
                        for category in product.category_ids {
                            if !categories.contains(&category) {
                                categories.push(category);
                            }
                        }
                    }
                    categories.truncate(MAX_CATEGORIES);
                    return Ok(categories);
                }
                Err(status) if status.code() == Code::NotFound => {
                    let unknown: HashSet<String> = chassis::error::not_found_names(&status)
                        .into_iter()
                        .collect();
                    let before = ids.len();
                    ids.retain(|id| !unknown.contains(id));
                    if ids.len() == before {
                        return Err(status);
                    }
                }
                Err(status) => return Err(status),
            }
        }
        Ok(Vec::new())
    }

    /// The products of `category` (a category that has gone is empty).
    async fn products_in(&self, category: &str) -> Result<Vec<ProductId>, Status> {
        let mut products = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_PAGES_PER_CATEGORY {
            let mut request = tonic::Request::new(ListProductsRequest {
                page_size: CATALOG_PAGE,
                page_token,
                category_id: category.to_owned(),
            });
            request.set_timeout(self.budget);
            let page = match self.client.clone().list_products(request).await {
                Ok(page) => page.into_inner(),
                Err(status) if status.code() == Code::NotFound => break,
                Err(status) => return Err(status),
            };
            products.extend(
                page.products
                    .iter()
                    .filter_map(|p| ProductId::parse(&p.id).ok()),
            );
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(products)
    }
}
