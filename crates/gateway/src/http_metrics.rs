//! The storefront's RED metrics: `http_requests_total` and
//! `http_request_duration_seconds`, labelled `method`, `route` and `status`.
//!
//! The route is the template the router matched (`/product/{id}`, `/api/v1/cart/items`),
//! never the path a browser sent: a product id, an order id or a made-up path must not
//! become a label value. A request no route matched is `unmatched`; a method outside the
//! standard verbs is `other`. The layer is the outermost of the router, so what the front
//! door or the time limit answers (429, 503) is counted too.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Counts and times one request by its route template.
pub async fn record(request: Request, next: Next) -> Response {
    if !chassis::metrics::installed() {
        return next.run(request).await;
    }
    let method = method_label(request.method());
    let route: String = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(seconds);
    response
}

/// The method as a bounded label value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_verbs_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("a token")),
            "other"
        );
    }
}
