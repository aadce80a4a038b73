//! Reading a process's metrics in a test as Prometheus reads them: a plain HTTP `GET` of
//! its admin listener (the status page's own client, no library between the test and the
//! socket), the text parsed by [`crate::scrape::Exposition`], and series looked up by name
//! and exact label set.
//!
//! The recorder is global to a process, and tests of one binary run side by side, so a
//! test compares two scrapes ([`Scrape::delta`]) rather than trusting absolute values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::scrape::{Exposition, Labels, exposition};

/// What an admin listener answered to one `GET`.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// `GET http://{addr}{path}` over a fresh connection, with the client the status page uses
/// ([`crate::scrape::fetch::get`]).
///
/// # Panics
/// When the listener does not answer HTTP within a few seconds: the test cannot go on.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let (status, body) =
        crate::scrape::fetch::get(&addr.to_string(), path, Duration::from_secs(10), 16 << 20)
            .await
            .unwrap_or_else(|e| panic!("GET {path} of the admin listener at {addr}: {e}"));
    Answer {
        status,
        body: String::from_utf8(body).expect("an answer in UTF-8"),
    }
}

/// One scrape of `/metrics`.
#[derive(Debug, Default)]
pub struct Scrape {
    exposition: Exposition,
    /// The text as served.
    pub text: String,
}

impl Scrape {
    /// Scrapes `http://{addr}/metrics`.
    ///
    /// # Panics
    /// When it does not answer 200, or answers lines that are not the text format.
    pub async fn of(addr: SocketAddr) -> Self {
        let answer = get(addr, "/metrics").await;
        assert_eq!(answer.status, 200, "/metrics answers: {}", answer.body);
        Self::parse(&answer.body)
    }

    /// Reads the text format.
    ///
    /// # Panics
    /// When a line is not understood: what a process serves must all be readable.
    pub fn parse(text: &str) -> Self {
        let exposition = Exposition::parse(text);
        assert_eq!(
            exposition.skipped(),
            0,
            "lines of /metrics that are not the text format:\n{text}"
        );
        Self {
            exposition,
            text: text.to_owned(),
        }
    }

    /// The value of the series `name` with exactly `labels`, or 0 when there is none yet
    /// (a counter not yet incremented is not rendered).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted = Labels::new(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.exposition
            .sum(name, &|labels| *labels == wanted)
            .unwrap_or(0.0)
    }

    /// Whether any series of `name` is there.
    pub fn has(&self, name: &str) -> bool {
        self.exposition
            .select(name, &exposition::all)
            .next()
            .is_some()
    }

    /// Every label set of the series `name`.
    pub fn label_sets(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.exposition
            .select(name, &exposition::all)
            .map(|sample| {
                sample
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// The values the label `label` takes in the series of `name`, sorted, each once.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .exposition
            .select(name, &exposition::all)
            .filter_map(|sample| sample.labels.get(label).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// How much the series `name` with exactly `labels` moved since `before`.
    pub fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value(name, labels)
    }
}
