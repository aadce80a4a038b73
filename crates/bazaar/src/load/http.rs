//! The storefront's JSON API (`/api/v1/...`, see `crates/gateway/openapi.json`) as a load
//! run calls it: HTTP/1.1 over a pool of kept-alive connections shared by every shopper,
//! a bearer token per shopper, a time limit on every request. The home page is the one
//! HTML page a run loads, with the shopper's session in cookies as a browser sends it.
//!
//! The gateway limits each client address (20 requests a second by default); a load run
//! from one address needs that limit raised or off
//! (`BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND=0`), or most of what it measures is 429.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::target::{Failure, Placed, Product, Session, buyer};

/// The time limit of every request but a checkout.
const DEADLINE: Duration = Duration::from_secs(10);
/// The time limit of a checkout.
const CHECKOUT_DEADLINE: Duration = Duration::from_secs(15);

/// The storefront at one base URL.
#[derive(Debug)]
pub struct Http {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    /// The storefront at `base` (`http://127.0.0.1:8080`).
    ///
    /// # Errors
    ///
    /// When `base` is not an `http://` URL.
    pub fn new(base: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/');
        match base.parse::<hyper::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {}
            _ => {
                return Err(format!(
                    "--gateway {base:?} is not a URL such as http://127.0.0.1:8080"
                ));
            }
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Ok(Self {
            base: base.to_owned(),
            client,
        })
    }

    /// Sends one request and reads the whole answer: its JSON, or a failure.
    async fn send(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<&Value>,
        deadline: Duration,
    ) -> Result<Value, Failure> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("accept", "application/json");
        if let Some(session) = session {
            request = request.header("authorization", format!("Bearer {}", session.access_token));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(body)).map_err(|_| Failure {
            label: "BadRequest".to_owned(),
            transient: false,
            pushback: None,
        })?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|_| Failure {
                label: "connect".to_owned(),
                transient: true,
                pushback: None,
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|_| Failure {
                    label: "connect".to_owned(),
                    transient: true,
                    pushback: None,
                })?
                .to_bytes();
            if !status.is_success() {
                return Err(Failure {
                    label: status.as_str().to_owned(),
                    transient: transient(status),
                    pushback: retry_after,
                });
            }
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_slice(&bytes).map_err(|_| Failure {
                label: "NotJson".to_owned(),
                transient: false,
                pushback: None,
            })
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(Failure {
                    label: "timeout".to_owned(),
                    transient: true,
                    pushback: None,
                })
            })
    }

    async fn get(&self, path: &str, session: Option<&Session>) -> Result<Value, Failure> {
        self.send(Method::GET, path, session, None, DEADLINE).await
    }

    /// The home page, `GET /`, with `session` in the storefront's cookies, read whole.
    pub(super) async fn home(&self, session: &Session) -> Result<(), Failure> {
        let failure = |label: &str, transient| Failure {
            label: label.to_owned(),
            transient,
            pushback: None,
        };
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/", self.base))
            .header("accept", "text/html")
            .header(
                "cookie",
                format!(
                    "bazaar_session={}; bazaar_refresh={}",
                    session.access_token, session.refresh_token
                ),
            )
            .body(Full::new(Bytes::new()))
            .map_err(|_| failure("BadRequest", false))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|_| failure("connect", true))?;
            let status = response.status();
            response
                .into_body()
                .collect()
                .await
                .map_err(|_| failure("connect", true))?;
            if status.is_success() {
                Ok(())
            } else {
                Err(failure(status.as_str(), transient(status)))
            }
        };
        tokio::time::timeout(DEADLINE, exchange)
            .await
            .unwrap_or_else(|_| Err(failure("timeout", true)))
    }

    pub(super) async fn products(&self) -> Result<Vec<Product>, String> {
        let mut products = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .get(
                    &format!("/api/v1/products?page_size=100&page_token={page_token}"),
                    None,
                )
                .await
                .map_err(|failure| format!("cannot list the catalog: {}", failure.label))?;
            for product in page["products"].as_array().into_iter().flatten() {
                products.push(Product {
                    id: product["id"].as_str().unwrap_or_default().to_owned(),
                    name: product["name"].as_str().unwrap_or_default().to_owned(),
                });
            }
            match page["next_page_token"].as_str() {
                Some(token) if !token.is_empty() => page_token = url_escape(token),
                _ => return Ok(products),
            }
        }
    }

    pub(super) async fn guest(&self) -> Result<Session, Failure> {
        let session = self
            .send(Method::POST, "/api/v1/session/guest", None, None, DEADLINE)
            .await?;
        match (
            session["access_token"].as_str(),
            session["refresh_token"].as_str(),
        ) {
            (Some(access), Some(refresh)) => Ok(Session {
                access_token: access.to_owned(),
                refresh_token: refresh.to_owned(),
            }),
            _ => Err(Failure {
                label: "NoSession".to_owned(),
                transient: false,
                pushback: None,
            }),
        }
    }

    pub(super) async fn browse(&self) -> Result<(), Failure> {
        self.get("/api/v1/products?page_size=20", None).await?;
        Ok(())
    }

    pub(super) async fn search(&self, query: &str) -> Result<(), Failure> {
        self.get(&format!("/api/v1/search?q={}", url_escape(query)), None)
            .await?;
        Ok(())
    }

    pub(super) async fn product(&self, product_id: &str) -> Result<(), Failure> {
        self.get(
            &format!("/api/v1/products/{}", url_escape(product_id)),
            None,
        )
        .await?;
        Ok(())
    }

    pub(super) async fn add_item(
        &self,
        session: &Session,
        product_id: &str,
        request_id: &str,
    ) -> Result<i64, Failure> {
        let body = json!({"product_id": product_id, "quantity": 1, "request_id": request_id});
        let cart = self
            .send(
                Method::POST,
                "/api/v1/cart/items",
                Some(session),
                Some(&body),
                DEADLINE,
            )
            .await?;
        Ok(cart["cart"]["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|line| line["product"]["id"] == product_id)
            .and_then(|line| line["quantity"].as_i64())
            .unwrap_or(0))
    }

    pub(super) async fn remove_item(
        &self,
        session: &Session,
        product_id: &str,
    ) -> Result<(), Failure> {
        let path = format!("/api/v1/cart/items/{}", url_escape(product_id));
        self.send(Method::DELETE, &path, Some(session), None, DEADLINE)
            .await?;
        Ok(())
    }

    pub(super) async fn cart(&self, session: &Session) -> Result<(), Failure> {
        self.get("/api/v1/cart", Some(session)).await?;
        Ok(())
    }

    pub(super) async fn place_order(
        &self,
        session: &Session,
        request_id: &str,
    ) -> Result<Placed, Failure> {
        let body = json!({
            "request_id": request_id,
            "email": buyer::EMAIL,
            "shipping_address": {
                "recipient_name": buyer::RECIPIENT,
                "street_lines": [buyer::STREET],
                "city": buyer::CITY,
                "region": "",
                "postal_code": buyer::POSTAL_CODE,
                "country_code": buyer::COUNTRY,
            },
            "card": {
                "number": buyer::CARD,
                "expiry_month": 12,
                "expiry_year": 2040,
                "cvv": "123",
                "holder_name": buyer::RECIPIENT,
            },
        });
        let answer = self
            .send(
                Method::POST,
                "/api/v1/orders",
                Some(session),
                Some(&body),
                CHECKOUT_DEADLINE,
            )
            .await?;
        let order = &answer["order"];
        match order["id"].as_str() {
            Some(id) => Ok(Placed {
                order_id: id.to_owned(),
                failed: order["state"] == "failed",
            }),
            None => Err(Failure {
                label: "NoOrder".to_owned(),
                transient: false,
                pushback: None,
            }),
        }
    }

    pub(super) async fn history(&self, session: &Session) -> Result<(), Failure> {
        self.get("/api/v1/orders", Some(session)).await?;
        Ok(())
    }
}

/// Worth trying again: overloaded or unreachable behind the gateway, or too many requests.
fn transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// `text` escaped for a URL path segment or query value.
fn url_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_escape_what_is_not_unreserved() {
        assert_eq!(url_escape("brass lamp"), "brass%20lamp");
        assert_eq!(url_escape("a/b?c=d&é"), "a%2Fb%3Fc%3Dd%26%C3%A9");
        assert_eq!(url_escape("ok-id_1.x~"), "ok-id_1.x~");
    }

    #[test]
    fn only_an_http_url_is_a_gateway() {
        assert!(Http::new("http://127.0.0.1:8080/").is_ok());
        for bad in ["127.0.0.1:8080", "https://shop", "ftp://x", "http://"] {
            assert!(Http::new(bad).is_err(), "{bad}");
        }
    }
}
