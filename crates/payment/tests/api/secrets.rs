//! The full card number and the CVV never reach the database or the logs.
//!
//! It installs the test binary's global tracing subscriber, at TRACE level, that writes
//! every event of every crate (ours, tonic, h2, sqlx, ...) into a buffer, runs charges with
//! distinctive card numbers and CVVs through the real service on a real SQLite file, and
//! then searches the raw bytes of the database files and of the logs. No other test sets a
//! subscriber, and none uses these numbers: what the other tests log meanwhile only widens
//! the search.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bazaar_contract::payment::v1::*;
use tonic::Code;

use crate::support::*;

/// Log output, kept in memory.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

/// Distinctive card numbers, as typed and as digits. The CVVs are above 255 (h2 logs
/// random PING payloads as lists of bytes) and are not years (log timestamps).
const VISA_TYPED: &str = "4539 1488 0343 6467";
const VISA: &str = "4539148803436467";
const VISA_CVV: &str = "947";
const AMEX: &str = "371449635398431";
const AMEX_CVV: &str = "6083";
/// Fails the Luhn check: refused, but still card data.
const BAD_VISA: &str = "4539148803436468";
const BAD_CVV: &str = "9470";

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Whether `digits` occurs in `haystack` as a number of its own: not inside a longer number
/// such as a port or the `122.947µs` that sqlx logs for each query, where a short CVV
/// shows up by chance. A leaked CVV reads `"947"` or `cvv=947`.
fn contains_number(haystack: &[u8], digits: &str) -> bool {
    let n = digits.len();
    let in_number = |b: &u8| b.is_ascii_digit() || *b == b'.';
    haystack.windows(n).enumerate().any(|(i, w)| {
        w == digits.as_bytes()
            && (i == 0 || !in_number(&haystack[i - 1]))
            && haystack.get(i + n).is_none_or(|b| !in_number(b))
    })
}

fn assert_no_card_data(what: &str, bytes: &[u8]) {
    for number in [VISA, VISA_TYPED, AMEX, BAD_VISA, "4539-1488-0343-6467"] {
        assert!(
            !contains(bytes, number),
            "{what} holds card number {number}"
        );
    }
    for cvv in [VISA_CVV, AMEX_CVV, BAD_CVV] {
        assert!(!contains_number(bytes, cvv), "{what} holds CVV {cvv}");
    }
}

fn with_card(request_id: &str, order_id: &str, number: &str, cvv: &str) -> ChargeRequest {
    let mut request = charge_request(request_id, order_id, number);
    request.card.as_mut().unwrap().cvv = cvv.to_owned();
    request
}

#[tokio::test]
async fn card_numbers_and_cvvs_reach_neither_the_database_nor_the_logs() {
    let logs = Buffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    let mut client = running.client.clone();

    let visa = charge(
        &mut client,
        with_card("secret-1", "secret-order-1", VISA_TYPED, VISA_CVV),
    )
    .await
    .unwrap();
    assert_eq!(visa.card_last4, "6467");
    let retry = charge(
        &mut client,
        with_card("secret-1", "secret-order-1", VISA, VISA_CVV),
    )
    .await
    .unwrap();
    assert_eq!(retry, visa);
    let status = charge(
        &mut client,
        with_card("secret-1", "secret-order-1", AMEX, AMEX_CVV),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let amex = charge(
        &mut client,
        with_card("secret-2", "secret-order-2", AMEX, AMEX_CVV),
    )
    .await
    .unwrap();
    assert_eq!(amex.card_brand(), CardBrand::AmericanExpress);
    for (number, cvv) in [(BAD_VISA, VISA_CVV), (VISA, BAD_CVV), (AMEX, VISA_CVV)] {
        let status = charge(
            &mut client,
            with_card("secret-3", "secret-order-3", number, cvv),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_no_card_data("an error message", status.message().as_bytes());
    }
    let status = charge(
        &mut client,
        with_card("secret-4", "secret-order-4", "4000000000000002", VISA_CVV),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    refund(&mut client, "secret-refund", &visa.id)
        .await
        .unwrap();
    list_all(&mut client, "", 10).await;

    // While the service runs, most of what was written is still in the write-ahead log.
    let files = |dir: &std::path::Path| {
        ["payment.db", "payment.db-wal", "payment.db-shm"]
            .iter()
            .filter_map(|name| std::fs::read(dir.join(name)).ok())
            .collect::<Vec<_>>()
            .concat()
    };
    let running_bytes = files(dir.path());
    running.stop().await;
    let stopped_bytes = files(dir.path());
    for (what, bytes) in [
        ("the running database", &running_bytes),
        ("the stopped database", &stopped_bytes),
    ] {
        // The charges are there (the search looks at the right bytes) ...
        assert!(contains(bytes, "secret-order-1"), "{what} lacks the order");
        assert!(contains(bytes, "secret-order-2"), "{what} lacks the order");
        // ... but no card number and no CVV.
        assert_no_card_data(what, bytes);
    }

    let logs = logs.contents();
    assert!(contains(&logs, "secret-order-1"), "the logs were captured");
    assert!(contains(&logs, "charge recorded"), "the logs were captured");
    assert!(
        contains(&logs, "TRACE"),
        "the logs were captured at TRACE level"
    );
    assert_no_card_data("the logs", &logs);
}
