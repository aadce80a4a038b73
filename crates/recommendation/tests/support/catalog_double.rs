//! A test double of the catalog: a fixed set of products with their categories, and the
//! three calls recommendation makes (GetProduct, BatchGetProducts, ListProducts with a
//! category filter, paged), behaving as the contract says: BatchGetProducts is all or
//! nothing, with one ResourceInfo per unknown id. The rest is unimplemented.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bazaar_contract::catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer};
use bazaar_contract::catalog::v1::*;
use chassis::{Server, ServerArgs, Shutdown};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetail, ResourceInfo, StatusExt};

/// The double; clones share the products.
#[derive(Clone, Debug, Default)]
pub struct CatalogDouble {
    products: Arc<Vec<Product>>,
    /// Categories asked for with ListProducts, in order.
    listed: Arc<Mutex<Vec<String>>>,
}

impl CatalogDouble {
    /// A catalog of `(product id, category ids)`.
    pub fn new(products: &[(&str, &[&str])]) -> Self {
        let mut products: Vec<Product> = products
            .iter()
            .map(|(id, categories)| Product {
                id: (*id).to_owned(),
                name: id.replace('-', " "),
                category_ids: categories.iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            })
            .collect();
        products.sort_by(|a, b| a.id.cmp(&b.id));
        Self {
            products: Arc::new(products),
            listed: Arc::default(),
        }
    }

    /// The categories listed so far.
    pub fn listed(&self) -> Vec<String> {
        self.listed.lock().unwrap().clone()
    }

    fn find(&self, id: &str) -> Option<Product> {
        self.products.iter().find(|p| p.id == id).cloned()
    }

    /// Serves the double on any port until the returned handle stops it.
    pub async fn serve(&self) -> RunningCatalog {
        let mut args = ServerArgs::for_tests(std::env::temp_dir());
        args.shutdown_grace_secs = 0;
        let server = Server::bind("catalog", &args, 0)
            .await
            .expect("the catalog double binds")
            .add_service(CatalogServiceServer::new(self.clone()));
        let addr = server.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            server.serve(stop).await.expect("the catalog double serves");
        });
        RunningCatalog {
            addr,
            shutdown,
            task,
        }
    }
}

/// The double, serving.
#[derive(Debug)]
pub struct RunningCatalog {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl RunningCatalog {
    /// Stops serving.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("the catalog double stops");
    }
}

fn not_found(ids: &[String]) -> Status {
    Status::with_error_details_vec(
        Code::NotFound,
        format!("bazaar.catalog.v1.Product not found: {}", ids.join(", ")),
        ids.iter().map(|id| {
            ErrorDetail::ResourceInfo(ResourceInfo::new(
                "bazaar.catalog.v1.Product",
                id,
                "",
                "not found",
            ))
        }),
    )
}

#[tonic::async_trait]
impl CatalogService for CatalogDouble {
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let request = request.into_inner();
        self.listed
            .lock()
            .unwrap()
            .push(request.category_id.clone());
        let size = match request.page_size {
            0 => 20,
            n => n.clamp(1, 100) as usize,
        };
        let matching: Vec<Product> = self
            .products
            .iter()
            .filter(|p| {
                request.category_id.is_empty() || p.category_ids.contains(&request.category_id)
            })
            .filter(|p| p.id > request.page_token)
            .cloned()
            .collect();
        if matching.is_empty()
            && !self
                .products
                .iter()
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
        match self.find(&id) {
            Some(product) => Ok(Response::new(GetProductResponse {
                product: Some(product),
            })),
            None => Err(not_found(&[id])),
        }
    }

    async fn batch_get_products(
        &self,
        request: Request<BatchGetProductsRequest>,
    ) -> Result<Response<BatchGetProductsResponse>, Status> {
        let ids = request.into_inner().product_ids;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| self.find(id).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(not_found(&missing));
        }
        Ok(Response::new(BatchGetProductsResponse {
            products: ids.iter().filter_map(|id| self.find(id)).collect(),
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
