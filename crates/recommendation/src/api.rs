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
use chassis::error::FieldViolation;
use chassis::page::{self, PageError};
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
        let mut violations = Vec::new();
        let context = Context::parse(&request.product_ids)
            .map_err(|v| violations.extend(v))
            .ok();
        // Tokens are bound to the context exactly as given.
        let mut parts = vec!["recommendations"];
        parts.extend(request.product_ids.iter().map(String::as_str));
        let print = page::fingerprint(&parts);
        let page = page::parse_request(
            request.page_size,
            &request.page_token,
            print,
            PAGE_BOUNDS,
            &mut violations,
        );
        let cursor = match page.as_ref().and_then(|p| p.position.as_deref()) {
            Some(position) => Cursor::decode(position)
                .ok_or_else(|| {
                    violations.push(FieldViolation::new(
                        "page_token",
                        PageError::BadToken.to_string(),
                    ));
                })
                .ok(),
            None => None,
        };
        let (Some(context), Some(page), true) = (context, page, violations.is_empty()) else {
            return Err(RecommendationError::Invalid(violations).into());
        };

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
                cursor.as_ref(),
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
                .map(|cursor| page::encode(print, &cursor.encode()))
                .unwrap_or_default(),
        }))
    }
}
