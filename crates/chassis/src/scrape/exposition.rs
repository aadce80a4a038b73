//! The Prometheus text exposition format (version 0.0.4), read into samples.
//!
//! A line is a comment (`# TYPE name kind` is kept, `# HELP` and the rest are skipped), a
//! blank, or a sample: `name{label="value",...} value [timestamp]`. Label values may hold
//! `\\`, `\"` and `\n` escapes. A histogram arrives as its `_bucket{le="..."}`, `_sum` and
//! `_count` samples, which are kept as they are: [`super::over_time`] does the arithmetic.
//!
//! Reading never fails and never panics: a line that is not understood is counted in
//! [`Exposition::skipped`] and the rest is read. Sizes are bounded: at most
//! [`MAX_SAMPLES`] samples, [`MAX_LABELS`] labels a sample and lines of at most
//! [`MAX_LINE`] bytes are kept; the rest is skipped and counted.

use std::collections::BTreeMap;

/// The most samples one exposition keeps.
pub const MAX_SAMPLES: usize = 100_000;
/// The most labels one sample may carry.
pub const MAX_LABELS: usize = 64;
/// The longest line read, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// What a `# TYPE` line says a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up, but for a reset to zero when its process restarts.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets of observations (`_bucket{le}`, `_sum`, `_count`).
    Histogram,
    /// Quantiles computed by the target (`{quantile}`, `_sum`, `_count`).
    Summary,
    /// Anything else (`untyped`, or a kind this parser does not know).
    Untyped,
}

/// A sample's labels, sorted by name, so that two samples of one series compare equal
/// whatever order their target wrote the labels in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Labels from pairs, in any order; a name given twice keeps its last value.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            map.insert(name, value);
        }
        Self(map.into_iter().collect())
    }

    /// The value of the label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|index| self.0[index].1.as_str())
    }

    /// Every label, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// These labels without `name` (a histogram's series without its `le`).
    pub fn without(&self, name: &str) -> Self {
        Self(self.0.iter().filter(|(n, _)| n != name).cloned().collect())
    }
}

/// One sample: a series (name and labels) and its value at the time of the scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric's name, with its `_bucket` / `_sum` / `_count` suffix when it has one.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its value (`+Inf`, `-Inf` and `NaN` are values too).
    pub value: f64,
}

/// Everything one scrape of one target said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    samples: Vec<Sample>,
    kinds: BTreeMap<String, Kind>,
    skipped: usize,
}

impl Exposition {
    /// Reads `text`; never fails (see the module documentation).
    pub fn parse(text: &str) -> Self {
        let mut exposition = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.len() > MAX_LINE {
                exposition.skipped += 1;
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                exposition.read_comment(comment);
                continue;
            }
            if exposition.samples.len() >= MAX_SAMPLES {
                exposition.skipped += 1;
                continue;
            }
            match parse_sample(line) {
                Some(sample) => exposition.samples.push(sample),
                None => exposition.skipped += 1,
            }
        }
        exposition
    }

    fn read_comment(&mut self, comment: &str) {
        let mut words = comment.split_whitespace();
        if words.next() != Some("TYPE") {
            return;
        }
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            self.skipped += 1;
            return;
        };
        if self.kinds.len() >= MAX_SAMPLES {
            self.skipped += 1;
            return;
        }
        let kind = match kind {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            _ => Kind::Untyped,
        };
        self.kinds.insert(name.to_owned(), kind);
    }

    /// An exposition of `samples` (one a program made, such as a digest of a scrape kept
    /// in a history); beyond [`MAX_SAMPLES`] they are counted as skipped.
    pub fn from_samples(samples: Vec<Sample>) -> Self {
        let skipped = samples.len().saturating_sub(MAX_SAMPLES);
        let mut samples = samples;
        samples.truncate(MAX_SAMPLES);
        Self {
            samples,
            kinds: BTreeMap::new(),
            skipped,
        }
    }

    /// Every sample, in the order the target wrote them.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The samples of the metric `name` (with its suffix: `x_bucket`) whose labels `keep`
    /// accepts.
    pub fn select<'a>(
        &'a self,
        name: &'a str,
        keep: &'a dyn Fn(&Labels) -> bool,
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |sample| sample.name == name && keep(&sample.labels))
    }

    /// The sum of the selected samples; `None` when none matches.
    pub fn sum(&self, name: &str, keep: &dyn Fn(&Labels) -> bool) -> Option<f64> {
        self.select(name, keep)
            .map(|sample| sample.value)
            .reduce(|a, b| a + b)
    }

    /// What the `# TYPE` line of `name` (the metric's name, without suffix) said.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.kinds.get(name).copied()
    }

    /// How many lines were not understood or were over a bound.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether the target wrote no sample at all.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Every label.
pub fn all(_: &Labels) -> bool {
    true
}

/// Reads one sample line, or `None` when it is not one.
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    let labels = if let Some(inside) = rest.strip_prefix('{') {
        let (labels, after) = parse_labels(inside)?;
        rest = after;
        labels
    } else {
        Labels::default()
    };
    let mut words = rest.split_ascii_whitespace();
    let value = parse_value(words.next()?)?;
    // A timestamp may follow; anything after it is not the format.
    if let Some(timestamp) = words.next() {
        timestamp.parse::<i64>().ok()?;
    }
    if words.next().is_some() {
        return None;
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The label pairs after `{`, up to and including the closing `}`; returns them and what
/// follows.
fn parse_labels(mut text: &str) -> Option<(Labels, &str)> {
    let mut pairs = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Some((Labels::new(pairs), after));
        }
        if pairs.len() >= MAX_LABELS {
            return None;
        }
        let equals = text.find('=')?;
        let name = text[..equals].trim();
        if !is_label_name(name) {
            return None;
        }
        let quoted = text[equals + 1..].trim_start().strip_prefix('"')?;
        let (value, after) = parse_quoted(quoted)?;
        pairs.push((name.to_owned(), value));
        text = after.trim_start();
        if let Some(after) = text.strip_prefix(',') {
            text = after;
        } else if !text.starts_with('}') {
            return None;
        }
    }
}

/// A label value after its opening quote, up to the closing one; returns it unescaped
/// and what follows the quote.
fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[index + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                other => {
                    // Not an escape the format knows: kept as written.
                    value.push('\\');
                    value.push(other);
                }
            },
            c => value.push(c),
        }
    }
    None
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

/// Writes a label value as the format escapes it (for tests and fixtures).
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TEXT: &str = r#"# HELP grpc_server_handled_total Calls handled.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_type="unary",grpc_service="bazaar.cart.v1.CartService",grpc_method="GetCart",grpc_code="OK"} 12
grpc_server_handled_total{grpc_code="NotFound",grpc_method="GetCart",grpc_service="bazaar.cart.v1.CartService",grpc_type="unary"} 3 1700000000000
# TYPE bazaar_outbox_head gauge
bazaar_outbox_head 42
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{grpc_method="GetCart",le="0.005"} 10
grpc_server_handling_seconds_bucket{grpc_method="GetCart",le="+Inf"} 15
grpc_server_handling_seconds_sum{grpc_method="GetCart"} 0.25
grpc_server_handling_seconds_count{grpc_method="GetCart"} 15
odd{reason="a \"quoted\" back\\slash\nnewline"} -Inf
"#;

    #[test]
    fn reads_counters_gauges_histograms_and_escapes() {
        let exposition = Exposition::parse(TEXT);
        assert_eq!(exposition.skipped(), 0);
        assert_eq!(exposition.samples().len(), 8);
        assert_eq!(
            exposition.kind("grpc_server_handled_total"),
            Some(Kind::Counter)
        );
        assert_eq!(
            exposition.kind("grpc_server_handling_seconds"),
            Some(Kind::Histogram)
        );
        assert_eq!(
            exposition.sum("grpc_server_handled_total", &all),
            Some(15.0)
        );
        assert_eq!(
            exposition.sum("grpc_server_handled_total", &|l| l.get("grpc_code")
                == Some("OK")),
            Some(12.0)
        );
        assert_eq!(exposition.sum("bazaar_outbox_head", &all), Some(42.0));
        assert_eq!(exposition.sum("missing", &all), None);
        let inf = exposition
            .select("grpc_server_handling_seconds_bucket", &|l| {
                l.get("le") == Some("+Inf")
            })
            .next()
            .expect("the +Inf bucket");
        assert_eq!(inf.value, 15.0);
        let odd = exposition.select("odd", &all).next().expect("odd");
        assert_eq!(
            odd.labels.get("reason"),
            Some("a \"quoted\" back\\slash\nnewline")
        );
        assert_eq!(odd.value, f64::NEG_INFINITY);
    }

    #[test]
    fn label_order_does_not_make_another_series() {
        let exposition = Exposition::parse(TEXT);
        let labels: Vec<_> = exposition
            .select("grpc_server_handled_total", &all)
            .map(|s| s.labels.without("grpc_code"))
            .collect();
        assert_eq!(labels[0], labels[1]);
    }

    #[test]
    fn skips_what_it_does_not_understand() {
        let text = "ok 1\nnot a sample\n{x=\"1\"} 2\nbad{x=1} 3\nbad{x=\"1\" 4\nbad 1 2 3\nbad 0x10\n\
                    2bad 1\nalso_ok{} 5\n# TYPE\n";
        let exposition = Exposition::parse(text);
        assert_eq!(exposition.sum("ok", &all), Some(1.0));
        assert_eq!(exposition.sum("also_ok", &all), Some(5.0));
        assert_eq!(exposition.samples().len(), 2);
        assert_eq!(exposition.skipped(), 8);
    }

    #[test]
    fn keeps_a_bounded_number_of_samples() {
        let text = "x 1\n".repeat(MAX_SAMPLES + 10);
        let exposition = Exposition::parse(&text);
        assert_eq!(exposition.samples().len(), MAX_SAMPLES);
        assert_eq!(exposition.skipped(), 10);
        let long = format!("y{{a=\"{}\"}} 1\n", "v".repeat(MAX_LINE));
        assert_eq!(Exposition::parse(&long).skipped(), 1);
    }

    #[test]
    fn reads_what_the_shops_recorder_renders() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&crate::metrics::LATENCY_BUCKETS)
            .expect("buckets")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("bazaar_orders_total", "state" => "placed").increment(3);
            metrics::gauge!("bazaar_outbox_head").set(7.0);
            metrics::histogram!("grpc_server_handling_seconds", "grpc_method" => "Get")
                .record(0.003);
        });
        let exposition = Exposition::parse(&handle.render());
        assert_eq!(exposition.skipped(), 0);
        assert_eq!(
            exposition.sum("bazaar_orders_total", &|l| l.get("state") == Some("placed")),
            Some(3.0)
        );
        assert_eq!(exposition.sum("bazaar_outbox_head", &all), Some(7.0));
        assert_eq!(
            exposition
                .select("grpc_server_handling_seconds_bucket", &all)
                .count(),
            crate::metrics::LATENCY_BUCKETS.len() + 1
        );
        assert_eq!(
            exposition.sum("grpc_server_handling_seconds_count", &all),
            Some(1.0)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in ".{0,400}") {
            let _ = Exposition::parse(&text);
        }

        #[test]
        fn never_panics_on_near_misses(text in r#"[a-z_{}=",\\ 0-9.+\-#\n]{0,200}"#) {
            let _ = Exposition::parse(&text);
        }

        #[test]
        fn reads_back_any_label_value_and_number(
            value in ".{0,40}",
            number in proptest::num::f64::NORMAL | proptest::num::f64::ZERO,
        ) {
            let text = format!("m{{a=\"{}\",b=\"x\"}} {number:e}\n", escape(&value));
            let exposition = Exposition::parse(&text);
            let sample = exposition.samples().first().cloned();
            prop_assert!(sample.is_some(), "{text:?} was not read");
            let sample = sample.unwrap();
            prop_assert_eq!(sample.labels.get("a"), Some(value.as_str()));
            prop_assert_eq!(sample.value, number);
        }
    }
}
