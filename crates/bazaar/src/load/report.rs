//! The end of a load run: one row per operation (count, rate, errors by code, p50, p90,
//! p99 and p99.9 of the successes, in milliseconds) and the total, as a table for people
//! or, with `--json`, as one JSON object for programs:
//!
//! ```json
//! {"operations":[{"name":"browse","count":1200,"rate":40.0,"errors":{"Unavailable":3},
//!   "p50_ms":2.1,"p90_ms":4.0,"p99_ms":9.8,"p999_ms":15.2}, ...],
//!  "total":{...},"duration_s":30.0,"retries":2,"orders_acknowledged":180,"check":{...}}
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The figures of one operation (or of all, as `total`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperationReport {
    /// The operation's name in `--mix`, or `total`.
    pub name: String,
    /// Operations ended, succeeded or failed.
    pub count: u64,
    /// `count` a second of the run.
    pub rate: f64,
    /// Failures by gRPC code name or HTTP status.
    pub errors: BTreeMap<String, u64>,
    /// Latency percentiles of the successes, in milliseconds (0 without any).
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
}

/// Everything a run reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// One row per operation of the mix, in table order.
    pub operations: Vec<OperationReport>,
    /// Every operation together.
    pub total: OperationReport,
    /// How long the clock ran, in seconds.
    pub duration_s: f64,
    /// PlaceOrder calls made again with the same `request_id` after a transient failure.
    pub retries: u64,
    /// Orders the shop acknowledged (PlaceOrder answered OK).
    pub orders_acknowledged: u64,
    /// The invariant check after the run (`--check`).
    pub check: Option<crate::invariants::Report>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}  ERRORS",
            "OPERATION", "COUNT", "RATE/s", "P50 ms", "P90 ms", "P99 ms", "P99.9 ms"
        )?;
        for row in self.operations.iter().chain(std::iter::once(&self.total)) {
            let errors = if row.errors.is_empty() {
                "-".to_owned()
            } else {
                row.errors
                    .iter()
                    .map(|(code, count)| format!("{code}={count}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            writeln!(
                f,
                "{:<10} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {errors}",
                row.name, row.count, row.rate, row.p50_ms, row.p90_ms, row.p99_ms, row.p999_ms
            )?;
        }
        write!(
            f,
            "{:.1} s, {} orders acknowledged, {} retries",
            self.duration_s, self.orders_acknowledged, self.retries
        )?;
        if let Some(check) = &self.check {
            write!(f, "\n{check}")?;
        }
        Ok(())
    }
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and maps of them always serialise.
        serde_json::to_string(self).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::mix::Operation;
    use super::super::record::Recorder;

    #[test]
    fn the_table_and_the_json_carry_the_same_figures() {
        let recorder = Recorder::default();
        recorder.record(Operation::Cart, Duration::from_millis(4), Ok(()));
        recorder.record(
            Operation::Cart,
            Duration::from_millis(4),
            Err("Unavailable".to_owned()),
        );
        let report = recorder.report(&[Operation::Cart], Duration::from_secs(2));
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("OPERATION"), "{table}");
        assert!(lines[1].starts_with("cart"), "{table}");
        assert!(lines[1].contains("Unavailable=1"), "{table}");
        assert!(lines[1].contains(" 4.00 "), "{table}");
        assert!(lines[2].starts_with("total"), "{table}");
        assert!(lines[3].contains("0 orders acknowledged"), "{table}");

        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let cart = &json["operations"][0];
        assert_eq!(cart["name"], "cart");
        assert_eq!(cart["count"], 2);
        assert_eq!(cart["rate"], 1.0);
        assert_eq!(cart["errors"]["Unavailable"], 1);
        assert!((cart["p99_ms"].as_f64().unwrap() - 4.0).abs() < 0.01);
        assert_eq!(json["duration_s"], 2.0);
        assert_eq!(json["retries"], 0);
        assert!(json["check"].is_null());
    }
}
