//! The catalog double: a few products with USD prices; BatchGetProducts all or nothing,
//! with one ResourceInfo per unknown id, as the real one.

use std::collections::HashMap;

use bazaar_contract::catalog::v1::catalog_service_server::CatalogService;
use bazaar_contract::catalog::v1::*;
use tonic::{Request, Response, Status};

use super::{Shared, down, money};

#[derive(Debug)]
pub struct CatalogState {
    pub products: HashMap<String, Product>,
    pub down: bool,
}

impl Default for CatalogState {
    fn default() -> Self {
        let product = |id: &str, name: &str, price: &str| {
            (
                id.to_owned(),
                Product {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    description: String::new(),
                    price: Some(money("USD", price)),
                    category_ids: Vec::new(),
                    picture_uri: format!("/pictures/{id}.svg"),
                },
            )
        };
        Self {
            products: HashMap::from([
                product("lamp", "Brass desk lamp", "19.99"),
                product("mug", "Stoneware mug", "7.50"),
                product("rug", "Wool rug", "120.00"),
            ]),
            down: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CatalogDouble(pub Shared<CatalogState>);

#[tonic::async_trait]
impl CatalogService for CatalogDouble {
    async fn batch_get_products(
        &self,
        request: Request<BatchGetProductsRequest>,
    ) -> Result<Response<BatchGetProductsResponse>, Status> {
        let state = self.0.lock();
        if state.down {
            return Err(down());
        }
        let ids = &request.get_ref().product_ids;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !state.products.contains_key(*id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(chassis::error::not_found_many(
                "bazaar.catalog.v1.Product",
                &missing,
            ));
        }
        Ok(Response::new(BatchGetProductsResponse {
            products: ids.iter().map(|id| state.products[id].clone()).collect(),
        }))
    }

    async fn list_products(
        &self,
        _: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn get_product(
        &self,
        _: Request<GetProductRequest>,
    ) -> Result<Response<GetProductResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn search_products(
        &self,
        _: Request<SearchProductsRequest>,
    ) -> Result<Response<SearchProductsResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn list_categories(
        &self,
        _: Request<ListCategoriesRequest>,
    ) -> Result<Response<ListCategoriesResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }

    async fn get_category(
        &self,
        _: Request<GetCategoryRequest>,
    ) -> Result<Response<GetCategoryResponse>, Status> {
        Err(Status::unimplemented("not in the double"))
    }
}
