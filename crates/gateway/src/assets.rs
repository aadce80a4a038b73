//! Files served as they are: the product pictures (embedded at build time from the shop's
//! published assets, `assets/pictures` at the workspace root, see `build.rs`), the style
//! sheet and the status page's script.
//! No page loads anything from another site: the shop works offline.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/pictures.rs"));
}

pub use embedded::PICTURES;

/// The style sheet.
pub const STYLE: &str = include_str!("../static/style.css");
/// The status page's live refresh.
pub const STATUS_SCRIPT: &str = include_str!("../static/status.js");
/// The shop's icon.
pub const ICON: &str = include_str!("../static/icon.svg");

const CACHE_A_DAY: &str = "public, max-age=86400";

/// GET /pictures/{file}.
pub async fn picture(Path(file): Path<String>) -> Response {
    match PICTURES.binary_search_by(|(name, _)| (*name).cmp(file.as_str())) {
        Ok(index) => (
            [
                (CONTENT_TYPE, "image/svg+xml"),
                (CACHE_CONTROL, CACHE_A_DAY),
            ],
            PICTURES[index].1,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such picture").into_response(),
    }
}

/// GET /static/{file}.
pub async fn file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "status.js" => (STATUS_SCRIPT, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, CACHE_A_DAY)],
        body,
    )
        .into_response()
}

/// GET /favicon.ico: the icon, so browsers stop asking.
pub async fn favicon() -> Response {
    (
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, CACHE_A_DAY),
        ],
        ICON,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_picture_is_embedded_and_sorted() {
        assert!(PICTURES.len() >= 50, "only {} pictures", PICTURES.len());
        assert!(PICTURES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PICTURES.iter().all(|(_, svg)| svg.starts_with(b"<svg")));
    }
}
