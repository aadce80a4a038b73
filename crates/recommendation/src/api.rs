//! The gRPC face of the recommendation service.
//!
//! The handler parses the request (context ids, page size, page token, each bad field
//! named), asks the catalog for the context's categories (optional: see [`crate::catalog`]),
//! and ranks with the model ([`crate::ranking`]). It is public: no caller token is asked
//! for, and an `authorization` entry is ignored.

use std::sync::{Arc, RwLock};

use bazaar_contract::recommendation::v1::{
    self as pb, recommendation_service_server::RecommendationService,
};
use chassis::error::Violations;
use chassis::page::Paging;
use tonic::{Request, Response, Status};

use crate::catalog::Catalog;
use crate::domain::{Context, Cursor};
use crate::error::RecommendationError;
use crate::model::Model;
use crate::ranking;

/// Default and largest page, as the contract documents.
const PAGE_BOUNDS: (u32, u32) = (5, 20);

/// The recommendation service.
#[derive(Clone, Debug)]
pub struct RecommendationApi {
    model: Arc<RwLock<Model>>,
    catalog: Catalog,
}

impl RecommendationApi {
    /// A service that ranks with `model` and asks `catalog` for categories.
    pub fn new(model: Arc<RwLock<Model>>, catalog: Catalog) -> Self {
        Self { model, catalog }
    }
}

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {
    #[tracing::instrument(skip_all, fields(context = request.get_ref().product_ids.len()))]
    async fn list_recommendations(
        &self,
        request: Request<pb::ListRecommendationsRequest>,
    ) -> Result<Response<pb::ListRecommendationsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let context = violations.check(Context::parse(&request.product_ids));
        // Tokens are bound to the context exactly as given.
        let mut parts = vec!["recommendations"];
        parts.extend(request.product_ids.iter().map(String::as_str));
        let paging = Paging::of(&parts).sized(PAGE_BOUNDS.0, PAGE_BOUNDS.1);
        let page = paging.parse_with(&request, &mut violations, Cursor::decode);
        let (context, page) = violations
            .finish(|| Some((context?, page?)))
            .map_err(RecommendationError::Invalid)?;

        let same_category = self.catalog.same_category(context.products()).await;
        let page = {
            // A poisoned lock means a panic while learning; the counts are still usable.
            let model = match self.model.read() {
                Ok(model) => model,
                Err(poisoned) => poisoned.into_inner(),
            };
            ranking::page(
                &model,
                &context,
                same_category.as_ref(),
                page.position.as_ref(),
                page.size,
            )
        };
        Ok(Response::new(pb::ListRecommendationsResponse {
            recommendations: page
                .recommendations
                .into_iter()
                .map(|r| pb::Recommendation {
                    product_id: r.product.as_str().to_owned(),
                    reason: r.reason as i32,
                })
                .collect(),
            next_page_token: page
                .next
                .map(|cursor| paging.token(&cursor.encode()))
                .unwrap_or_default(),
        }))
    }
}
