//! The gRPC face of the catalog: parse the request, ask the store, shape the response.
//!
//! Handlers stay thin: every field is parsed into a domain type first (a bad one becomes an
//! `INVALID_ARGUMENT` naming it), and every failure goes through [`CatalogError`]'s single
//! mapping to a `Status`.

use bazaar_contract::catalog::v1::{self as pb, catalog_service_server::CatalogService};
use bazaar_contract::types::v1::Money;
use chassis::error::{self, AtField, FieldViolation, Violations};
use chassis::page::Paging;
use chassis::store::StoreCell;
use tonic::{Request, Response, Status};

use crate::domain::{MAX_BATCH, SearchQuery, Slug};
use crate::store::{CatalogStore, CategoryRecord, ProductRecord};

/// What a catalog call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// Products that do not exist.
    #[error("products not found: {0:?}")]
    ProductsNotFound(Vec<String>),
    /// A category that does not exist.
    #[error("category not found: {0}")]
    CategoryNotFound(String),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
}

impl From<FieldViolation> for CatalogError {
    fn from(violation: FieldViolation) -> Self {
        CatalogError::Invalid(vec![violation])
    }
}

impl From<CatalogError> for Status {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(violations) => chassis::error::invalid_argument(violations),
            CatalogError::ProductsNotFound(ids) if ids.len() == 1 => {
                chassis::error::not_found("bazaar.catalog.v1.Product", &ids[0])
            }
            CatalogError::ProductsNotFound(ids) => {
                chassis::error::not_found_many("bazaar.catalog.v1.Product", &ids)
            }
            CatalogError::CategoryNotFound(id) => {
                chassis::error::not_found("bazaar.catalog.v1.Category", &id)
            }
            CatalogError::Store(error) => chassis::error::unavailable("catalog store", &error),
        }
    }
}

/// The catalog service.
#[derive(Clone, Debug)]
pub struct CatalogApi {
    store: StoreCell<CatalogStore>,
}

impl CatalogApi {
    /// A service that answers from `store` once it is open.
    pub fn new(store: StoreCell<CatalogStore>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    #[tracing::instrument(skip_all, fields(category = %request.get_ref().category_id))]
    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let category = if request.category_id.is_empty() {
            Some(None)
        } else {
            violations
                .check(Slug::parse(&request.category_id).at("category_id"))
                .map(Some)
        };
        let paging = Paging::of(&["products", &request.category_id]);
        let page = paging.parse(&request, &mut violations);
        let (category, page) = violations
            .finish(|| Some((category?, page?)))
            .map_err(CatalogError::Invalid)?;
        let store = self.store.get()?;
        if let Some(category) = &category
            && store
                .get_category(category)
                .await
                .map_err(CatalogError::from)?
                .is_none()
        {
            return Err(CatalogError::CategoryNotFound(category.as_str().to_owned()).into());
        }
        // One more than asked tells whether another page follows.
        let mut products = store
            .list_products(category.as_ref(), page.position.as_deref(), page.size + 1)
            .await
            .map_err(CatalogError::from)?;
        let next_page_token = paging.next_token(&mut products, page.size, |p| p.id.clone());
        Ok(Response::new(pb::ListProductsResponse {
            products: products.into_iter().map(product_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(product = %request.get_ref().product_id))]
    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::GetProductResponse>, Status> {
        let id = Slug::parse(&request.get_ref().product_id)
            .at("product_id")
            .map_err(CatalogError::from)?;
        let store = self.store.get()?;
        let product = store
            .get_products(std::slice::from_ref(&id))
            .await
            .map_err(CatalogError::from)?
            .pop()
            .ok_or_else(|| CatalogError::ProductsNotFound(vec![id.as_str().to_owned()]))?;
        Ok(Response::new(pb::GetProductResponse {
            product: Some(product_to_pb(product)),
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().product_ids.len()))]
    async fn batch_get_products(
        &self,
        request: Request<pb::BatchGetProductsRequest>,
    ) -> Result<Response<pb::BatchGetProductsResponse>, Status> {
        let ids = error::parse_batch(
            "product_ids",
            &request.get_ref().product_ids,
            MAX_BATCH,
            Slug::parse,
        )
        .map_err(CatalogError::Invalid)?;
        let store = self.store.get()?;
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        let found = store
            .get_products(&unique)
            .await
            .map_err(CatalogError::from)?;
        let by_id: std::collections::HashMap<&str, &ProductRecord> =
            found.iter().map(|p| (p.id.as_str(), p)).collect();
        let missing: Vec<String> = unique
            .iter()
            .filter(|id| !by_id.contains_key(id.as_str()))
            .map(|id| id.as_str().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(CatalogError::ProductsNotFound(missing).into());
        }
        let products = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .map(|p| product_to_pb((*p).clone()))
            .collect();
        Ok(Response::new(pb::BatchGetProductsResponse { products }))
    }

    #[tracing::instrument(skip_all, fields(query = %request.get_ref().query))]
    async fn search_products(
        &self,
        request: Request<pb::SearchProductsRequest>,
    ) -> Result<Response<pb::SearchProductsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let query = violations.check(SearchQuery::parse(&request.query));
        let paging = Paging::of(&["search", request.query.trim()]);
        // Search pages by offset: ranking has no stable key to continue after.
        let page = paging.parse_with(&request, &mut violations, |text| text.parse::<u64>().ok());
        let (query, page) = violations
            .finish(|| Some((query?, page?)))
            .map_err(CatalogError::Invalid)?;
        let (size, offset) = (page.size, page.position.unwrap_or(0));
        let store = self.store.get()?;
        let mut products = store
            .search(&query, offset, size + 1)
            .await
            .map_err(CatalogError::from)?;
        let next_offset = offset + u64::from(size);
        let next_page_token = paging.next_token(&mut products, size, |_| next_offset.to_string());
        Ok(Response::new(pb::SearchProductsResponse {
            products: products.into_iter().map(product_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let paging = Paging::of(&["categories"]);
        let page = paging.parse(&request, &mut violations);
        let page = violations.finish(|| page).map_err(CatalogError::Invalid)?;
        let store = self.store.get()?;
        let mut categories = store
            .list_categories(page.position.as_deref(), page.size + 1)
            .await
            .map_err(CatalogError::from)?;
        let next_page_token = paging.next_token(&mut categories, page.size, |c| c.id.clone());
        Ok(Response::new(pb::ListCategoriesResponse {
            categories: categories.into_iter().map(category_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(category = %request.get_ref().category_id))]
    async fn get_category(
        &self,
        request: Request<pb::GetCategoryRequest>,
    ) -> Result<Response<pb::GetCategoryResponse>, Status> {
        let id = Slug::parse(&request.get_ref().category_id)
            .at("category_id")
            .map_err(CatalogError::from)?;
        let store = self.store.get()?;
        let category = store
            .get_category(&id)
            .await
            .map_err(CatalogError::from)?
            .ok_or_else(|| CatalogError::CategoryNotFound(id.as_str().to_owned()))?;
        Ok(Response::new(pb::GetCategoryResponse {
            category: Some(category_to_pb(category)),
        }))
    }
}

fn product_to_pb(record: ProductRecord) -> pb::Product {
    pb::Product {
        id: record.id,
        name: record.name,
        description: record.description,
        price: Some(Money {
            currency_code: record.price_currency,
            units: record.price_units,
            nanos: record.price_nanos,
        }),
        category_ids: record.category_ids,
        picture_uri: record.picture_uri,
    }
}

fn category_to_pb(record: CategoryRecord) -> pb::Category {
    pb::Category {
        id: record.id,
        display_name: record.display_name,
        description: record.description,
    }
}
