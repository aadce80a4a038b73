//! The storefront under test: the whole shop in-process (bazaar-testkit) and the gateway in
//! front of it on a free port, plus a small HTTP client that keeps cookies like a browser.

use std::collections::HashMap;
use std::net::SocketAddr;

use bazaar_testkit::Shop;
use bazaar_testkit::buyer;
use chassis::Shutdown;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Products the tests buy, stocked at start.
pub(crate) const STOCKED: &[&str] = &["brass-desk-lamp", "ceramic-coffee-mug", "cast-iron-skillet"];

/// The shop and its gateway.
pub(crate) struct Storefront {
    /// The services.
    pub shop: Shop,
    /// Where the gateway listens.
    pub addr: SocketAddr,
    /// Where its admin listener (`/metrics`, `/healthz`, `/readyz`) listens.
    pub admin_addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Storefront {
    /// Starts every service, stocks [`STOCKED`], and starts the gateway in front.
    pub(crate) async fn start(test: &str) -> Self {
        Self::start_with(test, |_| {}).await
    }

    /// [`Storefront::start`], with the gateway's settings changed by `configure`.
    pub(crate) async fn start_with(
        test: &str,
        configure: impl FnOnce(&mut gateway::Config),
    ) -> Self {
        let shop = Shop::builder(test)
            .start()
            .await
            .expect("a shop on SQLite always starts");
        let admin = buyer::admin(&shop).await;
        for product in STOCKED {
            buyer::restock(&shop, &admin, product, 50).await;
        }
        let mut config = gateway::Config::for_tests(shop.data_dir().join("gateway"), |name| {
            shop.addr(name).to_string()
        });
        for spec in chassis::topology::grpc_services() {
            config.set_admin_addr(spec.name, shop.admin_addr(spec.name).to_string());
        }
        configure(&mut config);
        let gateway = gateway::Gateway::bind(&config)
            .await
            .expect("the gateway binds port 0");
        let addr = gateway.local_addr();
        let admin_addr = gateway
            .admin_addr()
            .expect("the gateway serves an admin listener");
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            gateway.run(stop).await.expect("the gateway runs");
        });
        Self {
            shop,
            addr,
            admin_addr,
            shutdown,
            task,
        }
    }

    /// The gateway's base URL.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new browser-like client (no cookies yet).
    pub(crate) fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }

    /// Stops the gateway and every service.
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
        self.shop.shutdown().await;
    }
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    /// Its body as text.
    pub body: String,
}

impl Page {
    /// The value of a hidden (or any) form field named `name`, from the first match.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// The page's anti-forgery token.
    pub(crate) fn csrf(&self) -> String {
        self.field("csrf")
            .expect("the page has a form with a csrf field")
    }

    /// The `Location` of a redirect.
    pub(crate) fn location(&self) -> String {
        self.headers
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// An HTTP/1.1 client that keeps cookies and sends a same-origin `Origin` on POST, as a
/// browser on one of the shop's pages would.
pub(crate) struct Browser {
    addr: SocketAddr,
    client: HyperClient<HttpConnector, Full<Bytes>>,
    /// The cookies it holds.
    pub cookies: HashMap<String, String>,
}

impl Browser {
    /// A client of the gateway at `addr`, with no cookies yet.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
            cookies: HashMap::new(),
        }
    }

    /// GET `path`.
    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, Vec::new(), None, &[]).await
    }

    /// POST a form to `path`.
    pub(crate) async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("form fields encode");
        self.send(
            Method::POST,
            path,
            body.into_bytes(),
            Some("application/x-www-form-urlencoded"),
            &[("origin", &format!("http://{}", self.addr))],
        )
        .await
    }

    /// Sends a request with extra headers.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(hyper::header::COOKIE, cookie);
        }
        if let Some(content_type) = content_type {
            request = request.header(hyper::header::CONTENT_TYPE, content_type);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        let response = self
            .client
            .request(request)
            .await
            .expect("the gateway answers");
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(hyper::header::SET_COOKIE) {
            let text = set.to_str().expect("ASCII cookie");
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body arrives")
            .to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// JSON call with an optional bearer token.
    pub(crate) async fn api(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Page {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        let (bytes, content_type) = match body {
            Some(body) => (body.to_string().into_bytes(), Some("application/json")),
            None => (Vec::new(), None),
        };
        // The API does not use cookies: send none.
        let saved = std::mem::take(&mut self.cookies);
        let page = self.send(method, path, bytes, content_type, &headers).await;
        self.cookies = saved;
        page
    }
}

/// The checkout form's fields, paid with `card`.
pub(crate) fn checkout_fields(
    csrf: &str,
    request_id: &str,
    card: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("request_id", request_id.to_owned()),
        ("email", "ada@example.com".to_owned()),
        ("recipient_name", "Ada Lovelace".to_owned()),
        ("street", "1 Main St".to_owned()),
        ("street2", String::new()),
        ("city", "Springfield".to_owned()),
        ("region", String::new()),
        ("postal_code", "12345".to_owned()),
        ("country_code", "US".to_owned()),
        ("card_number", card.to_owned()),
        ("expiry_month", "12".to_owned()),
        ("expiry_year", "2040".to_owned()),
        ("cvv", "123".to_owned()),
        ("holder_name", "Ada Lovelace".to_owned()),
    ]
}

/// Counts `calls` calls of `service`'s `method` answered with `code` in `seconds` each, as
/// the chassis's server layer counts them (`grpc_server_*` of the metric catalogue), in
/// this process's recorder: the one every admin listener of the in-process shop serves.
pub(crate) fn record_calls(service: &str, method: &str, code: &str, seconds: f64, calls: u64) {
    let grpc_service = format!(
        "bazaar.{service}.v1.{}{}Service",
        service[..1].to_uppercase(),
        &service[1..]
    );
    let labels = [
        ("grpc_type", "unary".to_owned()),
        ("grpc_service", grpc_service),
        ("grpc_method", method.to_owned()),
    ];
    let mut handled = labels.to_vec();
    handled.push(("grpc_code", code.to_owned()));
    metrics::counter!("grpc_server_handled_total", &handled).increment(calls);
    let latency = metrics::histogram!("grpc_server_handling_seconds", &labels);
    for _ in 0..calls {
        latency.record(seconds);
    }
}
