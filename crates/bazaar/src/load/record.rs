//! What a load run saw: for each operation, how many ran, how each failed, and an HDR
//! histogram of the latencies of those that succeeded (microseconds, three significant
//! digits, up to an hour), plus the retries of checkouts and the orders acknowledged.
//!
//! Every operation records once, when it ends, under one lock held for a few additions;
//! at the rates one machine can offer that lock is never what limits the run. Error
//! labels are gRPC code names or HTTP statuses, a small closed set, so the error table
//! cannot grow with what the shop answers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::mix::Operation;
use super::report::{OperationReport, Report};

/// The longest latency a histogram holds exactly; longer ones count as this long.
const LONGEST_MICROS: u64 = 3_600_000_000;

/// The figures of one operation.
#[derive(Debug)]
struct Tally {
    count: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            count: 0,
            errors: BTreeMap::new(),
            latency: new_histogram(),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // Bounds 1..=LONGEST_MICROS with 3 significant digits are valid constants.
    Histogram::new_with_bounds(1, LONGEST_MICROS, 3).unwrap_or_else(|_| unreachable!())
}

/// The figures of a run so far, for the progress line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Operations ended.
    pub count: u64,
    /// Of which failed.
    pub errors: u64,
    /// The 99th percentile latency of those that succeeded.
    pub p99: Duration,
}

/// Everything a run records; shared by every task of the run.
#[derive(Debug, Default)]
pub struct Recorder {
    tallies: Mutex<BTreeMap<Operation, Tally>>,
    retries: AtomicU64,
    acknowledged: AtomicU64,
}

impl Recorder {
    /// Records one operation that ended after `latency`: `Ok`, or failed with `error` (a
    /// gRPC code name such as `Unavailable`, or an HTTP status).
    pub fn record(&self, operation: Operation, latency: Duration, outcome: Result<(), String>) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(LONGEST_MICROS)
            .clamp(1, LONGEST_MICROS);
        let mut tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        let tally = tallies.entry(operation).or_insert_with(Tally::new);
        tally.count += 1;
        match outcome {
            Ok(()) => tally.latency.saturating_record(micros),
            Err(error) => *tally.errors.entry(error).or_default() += 1,
        }
    }

    /// Counts one retry of a call (a checkout's PlaceOrder again, same `request_id`).
    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one order the shop acknowledged.
    pub fn acknowledged(&self) {
        self.acknowledged.fetch_add(1, Ordering::Relaxed);
    }

    /// The figures of every operation together, so far.
    pub fn progress(&self) -> Progress {
        let tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all = new_histogram();
        let (mut count, mut errors) = (0, 0);
        for tally in tallies.values() {
            count += tally.count;
            errors += tally.errors.values().sum::<u64>();
            // Histograms of the same bounds always add.
            let _ = all.add(&tally.latency);
        }
        Progress {
            count,
            errors,
            p99: micros(all.value_at_quantile(0.99)),
        }
    }

    /// The report of a run that lasted `duration`: one row per operation of `operations`
    /// (even those that never ran), and the total.
    pub fn report(&self, operations: &[Operation], duration: Duration) -> Report {
        let tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        let seconds = duration.as_secs_f64().max(1e-9);
        let empty = Tally::new();
        let mut all = Tally::new();
        let mut rows = Vec::new();
        for operation in operations {
            let tally = tallies.get(operation).unwrap_or(&empty);
            rows.push(row(operation.name(), tally, seconds));
            all.count += tally.count;
            for (error, count) in &tally.errors {
                *all.errors.entry(error.clone()).or_default() += count;
            }
            let _ = all.latency.add(&tally.latency);
        }
        Report {
            operations: rows,
            total: row("total", &all, seconds),
            duration_s: duration.as_secs_f64(),
            retries: self.retries.load(Ordering::Relaxed),
            orders_acknowledged: self.acknowledged.load(Ordering::Relaxed),
            check: None,
        }
    }
}

fn micros(value: u64) -> Duration {
    Duration::from_micros(value)
}

fn row(name: &str, tally: &Tally, seconds: f64) -> OperationReport {
    let ms = |quantile: f64| {
        if tally.latency.is_empty() {
            0.0
        } else {
            micros(tally.latency.value_at_quantile(quantile)).as_secs_f64() * 1000.0
        }
    };
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rate = tally.count as f64 / seconds;
    OperationReport {
        name: name.to_owned(),
        count: tally.count,
        rate,
        errors: tally.errors.clone(),
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_successes_and_errors_are_counted_by_label() {
        let recorder = Recorder::default();
        for ms in 1..=1000 {
            recorder.record(Operation::Browse, Duration::from_millis(ms), Ok(()));
        }
        recorder.record(
            Operation::Browse,
            Duration::from_secs(30),
            Err("Unavailable".to_owned()),
        );
        recorder.record(
            Operation::Checkout,
            Duration::from_millis(5),
            Err("Unavailable".to_owned()),
        );
        recorder.record(
            Operation::Checkout,
            Duration::from_millis(5),
            Err("DeadlineExceeded".to_owned()),
        );
        recorder.retried();
        recorder.acknowledged();

        let report = recorder.report(
            &[Operation::Browse, Operation::Checkout, Operation::History],
            Duration::from_secs(10),
        );
        let browse = &report.operations[0];
        assert_eq!(browse.count, 1001);
        assert!((browse.rate - 100.1).abs() < 1e-9);
        assert_eq!(
            browse.errors,
            BTreeMap::from([("Unavailable".to_owned(), 1)])
        );
        // Three significant digits: within 0.1 % of the exact value.
        for (got, exact) in [
            (browse.p50_ms, 500.0),
            (browse.p90_ms, 900.0),
            (browse.p99_ms, 990.0),
            (browse.p999_ms, 999.0),
        ] {
            assert!((got - exact).abs() <= exact * 0.001, "{got} vs {exact}");
        }
        let checkout = &report.operations[1];
        assert_eq!(checkout.count, 2);
        assert_eq!(checkout.p99_ms, 0.0, "no success, no latency");
        let history = &report.operations[2];
        assert_eq!((history.name.as_str(), history.count), ("history", 0));
        assert_eq!(report.total.count, 1003);
        assert_eq!(
            report.total.errors,
            BTreeMap::from([
                ("DeadlineExceeded".to_owned(), 1),
                ("Unavailable".to_owned(), 2)
            ])
        );
        assert_eq!((report.retries, report.orders_acknowledged), (1, 1));

        let progress = recorder.progress();
        assert_eq!((progress.count, progress.errors), (1003, 3));
        assert!(progress.p99 >= Duration::from_millis(989));
    }

    #[test]
    fn latencies_beyond_an_hour_count_as_an_hour() {
        let recorder = Recorder::default();
        recorder.record(Operation::Search, Duration::from_secs(7200), Ok(()));
        let report = recorder.report(&[Operation::Search], Duration::from_secs(1));
        assert!((report.operations[0].p50_ms - 3_600_000.0).abs() < 3_600.0);
    }
}
