//! Browsing: the home page, a category, search results and a product. These need only the
//! catalog; prices, recommendations and the cart count are extras that go when their
//! service does.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, PageError, here, render};
use crate::AppState;
use crate::error::GatewayError;
use crate::session::Session;
use crate::shop::{self, CategoryView, ProductView};

/// Products on one page of a listing.
const PAGE_SIZE: i32 = 12;
/// Recommendations shown.
const RECOMMENDATIONS: i32 = 4;

/// `?page_token=...` of a listing.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Where the page starts.
    #[serde(default)]
    pub page_token: String,
}

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The header.
    pub chrome: Chrome,
    /// Every category.
    pub categories: Vec<CategoryView>,
    /// A page of products.
    pub products: Vec<ProductView>,
    /// The link to the next page, if any.
    pub next_page: Option<String>,
    /// Best sellers; `None` when the recommendation service is unavailable.
    pub recommended: Option<Vec<ProductView>>,
}

/// GET /: categories, products, recommendations.
pub async fn home(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, PageError> {
    let back = here(&uri);
    let ((mut chrome, target), categories, listing, recommended) = tokio::join!(
        Chrome::new(&app, &session, "bazaar", &back),
        shop::categories(&app),
        shop::list_products(&app, None, PAGE_SIZE, &query.page_token),
        shop::recommendations(&app, &[], RECOMMENDATIONS),
    );
    let (products, next) = listing?;
    let categories = categories?;
    let has_recommendations = recommended.is_some();
    let (mut priced, note) = shop::price_products(
        &app,
        &target,
        vec![products, recommended.unwrap_or_default()],
    )
    .await;
    chrome.currency_note = note;
    let recommended = priced.pop().filter(|_| has_recommendations);
    let products = priced.pop().unwrap_or_default();
    Ok(render(
        StatusCode::OK,
        &HomePage {
            chrome,
            categories,
            products,
            next_page: next_link("/", &next),
            recommended,
        },
    ))
}

fn next_link(path: &str, token: &str) -> Option<String> {
    (!token.is_empty()).then(|| {
        let query = serde_urlencoded::to_string([("page_token", token)]).unwrap_or_default();
        format!("{path}?{query}")
    })
}

/// A category's products.
#[derive(Template)]
#[template(path = "category.html")]
pub struct CategoryPage {
    /// The header.
    pub chrome: Chrome,
    /// The category.
    pub category: CategoryView,
    /// A page of its products.
    pub products: Vec<ProductView>,
    /// The link to the next page, if any.
    pub next_page: Option<String>,
}

/// GET /category/{id}.
pub async fn category(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, PageError> {
    let back = here(&uri);
    let ((mut chrome, target), category, listing) = tokio::join!(
        Chrome::new(&app, &session, "", &back),
        shop::category(&app, &id),
        shop::list_products(&app, Some(&id), PAGE_SIZE, &query.page_token),
    );
    let category = category?;
    let (products, next) = listing?;
    let (mut priced, note) = shop::price_products(&app, &target, vec![products]).await;
    chrome.currency_note = note;
    chrome.title = category.name.clone();
    Ok(render(
        StatusCode::OK,
        &CategoryPage {
            chrome,
            next_page: next_link(&format!("/category/{}", category.id), &next),
            category,
            products: priced.pop().unwrap_or_default(),
        },
    ))
}

/// `?q=...` of a search.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    /// The words to look for.
    #[serde(default)]
    pub q: String,
    /// Where the page starts.
    #[serde(default)]
    pub page_token: String,
}

/// Search results.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// The header.
    pub chrome: Chrome,
    /// What was searched for.
    pub query: String,
    /// The matches.
    pub products: Vec<ProductView>,
    /// The link to the next page, if any.
    pub next_page: Option<String>,
}

/// GET /search?q=...
pub async fn search(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<SearchQuery>,
    uri: Uri,
) -> Result<Response, PageError> {
    let text = query.q.trim().to_owned();
    let back = here(&uri);
    let ((mut chrome, target), found) =
        tokio::join!(Chrome::new(&app, &session, "Search", &back), async {
            if text.is_empty() {
                Ok((Vec::new(), String::new()))
            } else {
                shop::search(&app, &text, PAGE_SIZE, &query.page_token).await
            }
        });
    let (products, next) = match found {
        Ok(found) => found,
        // A query the catalog refuses (too long, ...) finds nothing rather than an error.
        Err(GatewayError::Upstream { status, .. })
            if status.code() == tonic::Code::InvalidArgument =>
        {
            (Vec::new(), String::new())
        }
        Err(error) => return Err(error.into()),
    };
    let (mut priced, note) = shop::price_products(&app, &target, vec![products]).await;
    chrome.currency_note = note;
    chrome.title = format!("Search: {text}");
    chrome.query = text.clone();
    let next_page = (!next.is_empty()).then(|| {
        let query =
            serde_urlencoded::to_string([("q", text.as_str()), ("page_token", next.as_str())])
                .unwrap_or_default();
        format!("/search?{query}")
    });
    Ok(render(
        StatusCode::OK,
        &SearchPage {
            chrome,
            query: text,
            products: priced.pop().unwrap_or_default(),
            next_page,
        },
    ))
}

/// A product.
#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    /// The header.
    pub chrome: Chrome,
    /// The product.
    pub product: ProductView,
    /// Its description, paragraph by paragraph.
    pub paragraphs: Vec<String>,
    /// Related products; `None` when the recommendation service is unavailable.
    pub recommended: Option<Vec<ProductView>>,
}

/// GET /product/{id}.
pub async fn product(
    State(app): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, PageError> {
    let context = [id.clone()];
    let back = here(&uri);
    let ((mut chrome, target), product, recommended) = tokio::join!(
        Chrome::new(&app, &session, "", &back),
        shop::product(&app, &id),
        shop::recommendations(&app, &context, RECOMMENDATIONS),
    );
    let product = match product {
        Ok(product) => product,
        Err(GatewayError::Upstream { status, .. })
            if matches!(
                status.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ) =>
        {
            return Err(GatewayError::NotFound(format!("Product {id:?}")).into());
        }
        Err(error) => return Err(error.into()),
    };
    let has_recommendations = recommended.is_some();
    let (mut priced, note) = shop::price_products(
        &app,
        &target,
        vec![vec![product], recommended.unwrap_or_default()],
    )
    .await;
    chrome.currency_note = note;
    let recommended = priced.pop().filter(|_| has_recommendations);
    let product = priced
        .pop()
        .and_then(|mut list| list.pop())
        .ok_or_else(|| GatewayError::NotFound(format!("Product {id:?}")))?;
    chrome.title = product.name.clone();
    let paragraphs = product
        .description
        .split('\n')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(render(
        StatusCode::OK,
        &ProductPage {
            chrome,
            product,
            paragraphs,
            recommended,
        },
    ))
}
