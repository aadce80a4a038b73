//! What every response carries for the browser's protection, and what every request that
//! changes something must prove.
//!
//! - [`headers`]: a Content-Security-Policy that allows nothing but this origin (no inline
//!   script or style, no frames, forms only to us), `nosniff`, no framing, a strict referrer
//!   policy, and `no-store` on pages (they are personal: a cart, an order).
//! - [`same_origin`]: a POST whose `Origin` (or, without it, `Referer`) names another host
//!   is refused before any handler runs; the anti-forgery token of
//!   [`crate::pages::form::CsrfForm`] is checked as well.
//! - [`time_limit`]: no request is answered later than a fixed bound, whatever happens
//!   downstream; each downstream call has its own, shorter deadline.

use std::time::Duration;

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERER, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The policy: this origin only.
pub const CSP: &str = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The longest any request may take, including a checkout.
pub const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Adds the security headers to every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses a state-changing request that names another origin.
pub async fn same_origin(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || comes_from_here(&request) {
        next.run(request).await
    } else {
        tracing::info!(method = %request.method(), path = request.uri().path(), "cross-origin request refused");
        (
            StatusCode::FORBIDDEN,
            "Forbidden: this request was sent from another site.",
        )
            .into_response()
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `Origin` (or `Referer`) is absent or names the host the request was sent to.
fn comes_from_here(request: &Request) -> bool {
    let headers = request.headers();
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(ORIGIN)
        .or_else(|| headers.get(REFERER))
        .and_then(|v| v.to_str().ok());
    match source {
        // Neither header: not a browser's cross-site request (browsers send Origin on
        // every cross-site POST); the anti-forgery token still applies to forms.
        None => true,
        Some(source) => host_of(source).is_some_and(|h| h.eq_ignore_ascii_case(host)),
    }
}

/// `host[:port]` of an absolute URL; `None` for "null" or anything unparsable.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    (!host.is_empty()).then_some(host)
}

/// Answers 503 when a request takes longer than [`REQUEST_TIME_LIMIT`].
pub async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIME_LIMIT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request cut off at the time limit");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The shop took too long to answer; please try again.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&'static str, &'static str)]) -> Request {
        let mut builder = Request::builder().method(Method::POST).uri("/cart/items");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_requests_pass_and_others_do_not() {
        assert!(comes_from_here(&post(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(comes_from_here(&post(&[
            ("host", "127.0.0.1:8080"),
            ("referer", "http://127.0.0.1:8080/product/x?y=1")
        ])));
        assert!(comes_from_here(&post(&[("host", "shop.example")])));
        assert!(!comes_from_here(&post(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!comes_from_here(&post(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!comes_from_here(&post(&[
            ("host", "127.0.0.1:8080"),
            ("referer", "http://127.0.0.1:8081/")
        ])));
        assert!(!comes_from_here(&post(&[(
            "origin",
            "http://127.0.0.1:8080"
        )])));
    }
}
