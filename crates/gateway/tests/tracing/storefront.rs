//! The shop in-process (bazaar-testkit) with the gateway in front on a free port, and a
//! bare HTTP/1.0 call to it.

use std::net::SocketAddr;

use bazaar_testkit::{Shop, buyer};
use chassis::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The shop and its gateway.
pub(crate) struct Storefront {
    pub shop: Shop,
    pub addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Storefront {
    /// Starts every service, stocks `products`, and starts the gateway in front.
    pub(crate) async fn start(test: &str, products: &[&str]) -> Self {
        let shop = Shop::builder(test)
            .start()
            .await
            .expect("a shop on SQLite always starts");
        let admin = buyer::admin(&shop).await;
        for product in products {
            buyer::restock(&shop, &admin, product, 50).await;
        }
        let config = gateway::Config::for_tests(shop.data_dir().join("gateway"), |name| {
            shop.addr(name).to_string()
        });
        let gateway = gateway::Gateway::bind(&config)
            .await
            .expect("the gateway binds port 0");
        let addr = gateway.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            gateway.run(stop).await.expect("the gateway runs");
        });
        Self {
            shop,
            addr,
            shutdown,
            task,
        }
    }

    /// Sends one HTTP/1.0 request (the answer then ends with the connection, never chunked)
    /// and reads the whole answer.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Answer {
        let body = body.map(ToString::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.0\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            request.push_str("content-type: application/json\r\n");
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        Answer::parse(&String::from_utf8_lossy(&raw))
    }

    /// Stops the gateway and every service.
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
        self.shop.shutdown().await;
    }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect::<Vec<_>>();
        Self {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// The value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
