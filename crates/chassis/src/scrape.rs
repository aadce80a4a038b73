//! Reading a process's metrics as Prometheus would, for tests: a plain HTTP/1.0 `GET` of
//! the admin listener (no client library between the test and the socket), and the series
//! of the text format looked up by name and exact label set.
//!
//! The recorder is global to a process, so a test compares two scrapes ([`Scrape::delta`])
//! rather than trusting absolute values.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What an admin listener answered to one `GET`.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// `GET http://{addr}{path}` over a fresh connection.
///
/// # Panics
/// When the listener does not answer HTTP: the test cannot go on.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the admin listener accepts");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("the request is sent");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .expect("the answer is read");
    let raw = String::from_utf8(raw).expect("an HTTP answer in UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP head and body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    Answer {
        status,
        body: body.to_owned(),
    }
}

/// One scrape of `/metrics`: every sample, by name and label set.
#[derive(Debug, Default)]
pub struct Scrape {
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
    /// The text as served.
    pub text: String,
}

impl Scrape {
    /// Scrapes `http://{addr}/metrics`.
    ///
    /// # Panics
    /// When it does not answer 200 with the text format.
    pub async fn of(addr: SocketAddr) -> Self {
        let answer = get(addr, "/metrics").await;
        assert_eq!(answer.status, 200, "/metrics answers: {}", answer.body);
        Self::parse(&answer.body)
    }

    /// Reads the Prometheus text format (what the recorder writes: no escaped quotes in
    /// label values, no timestamps).
    ///
    /// # Panics
    /// On a line that is not a comment or a sample.
    pub fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                value => value.parse().expect("a sample value"),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("labels end with }");
                    let labels = rest
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            samples.insert((name.to_owned(), labels), value);
        }
        Self {
            samples,
            text: text.to_owned(),
        }
    }

    /// The value of the series `name` with exactly `labels`, or 0 when there is none yet
    /// (a counter not yet incremented is not rendered).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Whether any series of `name` is there.
    pub fn has(&self, name: &str) -> bool {
        self.samples.keys().any(|(n, _)| n == name)
    }

    /// Every label set of the series `name`.
    pub fn label_sets(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.samples
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, labels)| labels.clone())
            .collect()
    }

    /// How much the series `name` with exactly `labels` moved since `before`.
    pub fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value(name, labels)
    }
}
