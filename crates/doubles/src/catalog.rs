//! The catalog double: products with their prices and categories, and the calls its callers
//! make, behaving as the contract says: GetProduct; BatchGetProducts all or nothing, with
//! one ResourceInfo per unknown id; ListProducts in id order, paged, optionally in one
//! category (NOT_FOUND for a category no product is in). A switch makes it answer
//! UNAVAILABLE, as a catalog that is down, and a delay makes ListProducts slow; the rest of
//! the contract is unimplemented.
//!
//! Orders prices a checkout with it ([`CatalogDouble::default`]: a few products with USD
//! prices); recommendation reads categories from it ([`CatalogDouble::new`]).

use std::collections::BTreeMap;
use std::time::Duration;

use bazaar_contract::catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer};
use bazaar_contract::catalog::v1::*;
use chassis::Server;
use tonic::{Request, Response, Status};

use crate::{Serving, Shared, down, money, server_args};

/// What the catalog double holds and what it was asked.
#[derive(Debug)]
pub struct CatalogState {
    /// The products, by id.
    pub products: BTreeMap<String, Product>,
    /// Every call answers UNAVAILABLE.
    pub down: bool,
    /// How long ListProducts takes before it answers.
    pub list_delay: Duration,
    /// Categories asked for with ListProducts, in order.
    pub listed: Vec<String>,
}

/// The double; clones share its state.
#[derive(Clone, Debug)]
pub struct CatalogDouble(pub Shared<CatalogState>);

impl Default for CatalogDouble {
    /// A brass desk lamp (19.99), a stoneware mug (7.50) and a wool rug (120.00), in USD.
    fn default() -> Self {
        let product = |id: &str, name: &str, price: &str| Product {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            price: Some(money("USD", price)),
            category_ids: Vec::new(),
            picture_uri: format!("/pictures/{id}.svg"),
        };
        Self::with_products([
            product("lamp", "Brass desk lamp", "19.99"),
            product("mug", "Stoneware mug", "7.50"),
            product("rug", "Wool rug", "120.00"),
        ])
    }
}

impl CatalogDouble {
    /// A catalog of `(product id, category ids)`, without prices.
    pub fn new(products: &[(&str, &[&str])]) -> Self {
        Self::with_products(products.iter().map(|(id, categories)| Product {
            id: (*id).to_owned(),
            name: id.replace('-', " "),
            category_ids: categories.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        }))
    }

    fn with_products(products: impl IntoIterator<Item = Product>) -> Self {
        Self(Shared::new(CatalogState {
            products: products.into_iter().map(|p| (p.id.clone(), p)).collect(),
            down: false,
            list_delay: Duration::ZERO,
            listed: Vec::new(),
        }))
    }

    /// The categories listed so far.
    pub fn listed(&self) -> Vec<String> {
        self.0.lock().listed.clone()
    }

    /// Serves the double on any port until the returned handle stops it.
    pub async fn serve(&self) -> Serving {
        let server = Server::bind("catalog", &server_args(None), 0)
            .await
            .expect("the catalog double binds")
            .add_service(CatalogServiceServer::new(self.clone()));
        Serving::start(server)
    }

    /// The state, unless the double is switched off.
    fn up(&self) -> Result<std::sync::MutexGuard<'_, CatalogState>, Status> {
        let state = self.0.lock();
        if state.down {
            return Err(down());
        }
        Ok(state)
    }
}

fn not_found(ids: &[String]) -> Status {
    chassis::error::not_found_many("bazaar.catalog.v1.Product", ids)
}

#[tonic::async_trait]
impl CatalogService for CatalogDouble {
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let request = request.into_inner();
        let delay = self.0.lock().list_delay;
        tokio::time::sleep(delay).await;
        let mut state = self.up()?;
        state.listed.push(request.category_id.clone());
        let size = match request.page_size {
            0 => 20,
            n => usize::try_from(n.clamp(1, 100)).expect("clamped to 1..=100"),
        };
        let matching: Vec<Product> = state
            .products
            .values()
            .filter(|p| {
                request.category_id.is_empty() || p.category_ids.contains(&request.category_id)
            })
            .filter(|p| p.id > request.page_token)
            .cloned()
            .collect();
        if matching.is_empty()
            && !state
                .products
                .values()
                .any(|p| p.category_ids.contains(&request.category_id))
        {
            return Err(Status::not_found("no such category"));
        }
        // The double's page token is simply the last id of the page.
        let next_page_token = if matching.len() > size {
            matching[size - 1].id.clone()
        } else {
            String::new()
        };
        Ok(Response::new(ListProductsResponse {
            products: matching.into_iter().take(size).collect(),
            next_page_token,
        }))
    }

    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<GetProductResponse>, Status> {
        let id = request.into_inner().product_id;
        match self.up()?.products.get(&id) {
            Some(product) => Ok(Response::new(GetProductResponse {
                product: Some(product.clone()),
            })),
            None => Err(not_found(&[id])),
        }
    }

    async fn batch_get_products(
        &self,
        request: Request<BatchGetProductsRequest>,
    ) -> Result<Response<BatchGetProductsResponse>, Status> {
        let state = self.up()?;
        let ids = &request.get_ref().product_ids;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !state.products.contains_key(*id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(not_found(&missing));
        }
        Ok(Response::new(BatchGetProductsResponse {
            products: ids.iter().map(|id| state.products[id].clone()).collect(),
        }))
    }

    async fn search_products(
        &self,
        _: Request<SearchProductsRequest>,
    ) -> Result<Response<SearchProductsResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }

    async fn list_categories(
        &self,
        _: Request<ListCategoriesRequest>,
    ) -> Result<Response<ListCategoriesResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }

    async fn get_category(
        &self,
        _: Request<GetCategoryRequest>,
    ) -> Result<Response<GetCategoryResponse>, Status> {
        Err(Status::unimplemented("not part of the double"))
    }
}
