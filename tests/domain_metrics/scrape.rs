//! Reading a service's `/metrics` the way Prometheus does: a plain HTTP GET of its admin
//! listener, then the text exposition format parsed into samples, each a metric name, its
//! labels and its value.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One scrape: every sample of the page.
#[derive(Debug)]
pub(crate) struct Scrape {
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Scrape {
    /// GETs `http://{admin}/metrics` over HTTP/1.0 and parses the page.
    ///
    /// # Panics
    /// When the admin listener does not answer 200 with a page in the text format.
    pub(crate) async fn of(admin: SocketAddr) -> Self {
        let mut socket = TcpStream::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the admin listener at {admin}: {e}"));
        socket
            .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {admin}\r\n\r\n").as_bytes())
            .await
            .expect("the request is sent");
        let mut response = String::new();
        socket
            .read_to_string(&mut response)
            .await
            .expect("the response is text");
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "/metrics answered {head:?}"
        );
        Self::parse(body)
    }

    /// The samples of a page in the Prometheus text format.
    ///
    /// # Panics
    /// On a line that is not a sample, a comment or blank.
    pub(crate) fn parse(page: &str) -> Self {
        let samples = page
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}")))
            .collect();
        Self { samples }
    }

    /// The value of the sample `name` with exactly `labels`; 0 when there is none (a
    /// counter that has not counted yet, a gauge never set).
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map_or(0.0, |s| s.value)
    }

    /// Whether the page has any sample of `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// The label values of `label` that the samples of `name` carry.
    pub(crate) fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

/// `name{k="v",...} value` or `name value` (a timestamp after the value is ignored).
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            inner = inner.trim_start_matches(',');
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inner.split_once("=\"")?;
            let (value, after) = quoted(after)?;
            labels.insert(key.to_owned(), value);
            inner = after;
        }
    }
    let value = match rest.split_whitespace().next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// A label value up to its closing quote, unescaped (`\"`, `\\`, `\n`), and the text
/// after that quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

#[test]
fn a_page_parses_into_samples() {
    let page = "# TYPE bazaar_orders_total counter\n\
        bazaar_orders_total{state=\"placed\"} 3\n\
        bazaar_outbox_head 7\n\
        bazaar_saga_step_seconds_bucket{step=\"charge\",le=\"+Inf\"} 2\n\
        odd{a=\"x\\\"y\",b=\"\"} 1.5\n";
    let scrape = Scrape::parse(page);
    assert_eq!(
        scrape.value("bazaar_orders_total", &[("state", "placed")]),
        3.0
    );
    assert_eq!(
        scrape.value("bazaar_orders_total", &[("state", "failed")]),
        0.0
    );
    assert_eq!(scrape.value("bazaar_outbox_head", &[]), 7.0);
    assert_eq!(
        scrape.value(
            "bazaar_saga_step_seconds_bucket",
            &[("step", "charge"), ("le", "+Inf")]
        ),
        2.0
    );
    assert_eq!(scrape.value("odd", &[("a", "x\"y"), ("b", "")]), 1.5);
}
