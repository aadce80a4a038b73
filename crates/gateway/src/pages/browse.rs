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
use crate::app::AppState;
use crate::error::GatewayError;
use crate::session::Session;
use crate::shop::browse::{self, CategoryView, Listing};
use crate::shop::catalog::ProductView;

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
    let (mut chrome, home) = tokio::join!(
        Chrome::new(&app, &session, "bazaar", &back),
        browse::home(
            &app,
            &session.currency,
            PAGE_SIZE,
            &query.page_token,
            RECOMMENDATIONS
        ),
    );
    let home = home?;
    chrome.currency_note = home.currency_note;
    Ok(render(
        StatusCode::OK,
        &HomePage {
            chrome,
            categories: home.categories,
            products: home.products,
            next_page: next_link("/", &home.next_page_token),
            recommended: home.recommended,
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
    let (mut chrome, category, listing) = tokio::join!(
        Chrome::new(&app, &session, "", &back),
        browse::category(&app, &id),
        browse::products(
            &app,
            Some(&id),
            PAGE_SIZE,
            &query.page_token,
            &session.currency
        ),
    );
    let category = category?;
    let listing = listing?;
    chrome.currency_note = listing.currency_note;
    chrome.title = category.name.clone();
    Ok(render(
        StatusCode::OK,
        &CategoryPage {
            chrome,
            next_page: next_link(
                &format!("/category/{}", category.id),
                &listing.next_page_token,
            ),
            category,
            products: listing.products,
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
    let (mut chrome, found) = tokio::join!(Chrome::new(&app, &session, "Search", &back), async {
        if text.is_empty() {
            Ok(Listing::default())
        } else {
            browse::search(&app, &text, PAGE_SIZE, &query.page_token, &session.currency).await
        }
    });
    let listing = match found {
        Ok(listing) => listing,
        // A query the catalog refuses (too long, ...) finds nothing rather than an error.
        Err(GatewayError::Upstream { status, .. })
            if status.code() == tonic::Code::InvalidArgument =>
        {
            Listing::default()
        }
        Err(error) => return Err(error.into()),
    };
    chrome.currency_note = listing.currency_note;
    chrome.title = format!("Search: {text}");
    chrome.query = text.clone();
    let next = listing.next_page_token;
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
            products: listing.products,
            next_page,
        },
    ))
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    /// The header.
    pub chrome: Chrome,
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
    let back = here(&uri);
    let (mut chrome, detail) = tokio::join!(
        Chrome::new(&app, &session, "", &back),
        browse::product(&app, &id, &session.currency, Some(RECOMMENDATIONS)),
    );
    let detail = match detail {
        Ok(detail) => detail,
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
    chrome.currency_note = detail.currency_note;
    let product = detail.product;
    let recommended = detail.recommended;
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
