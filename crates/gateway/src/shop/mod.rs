//! The gateway's one service layer: every call it makes to the shop's services, for both of
//! its faces.
//!
//! The pages ([`crate::pages`]) and the JSON API ([`crate::api`]) offer the same actions to
//! two kinds of client. Each action is written once, here, as one function: it takes plain
//! values (ids, the shopper's access token, the currency to price in), calls the services
//! through the generated clients ([`crate::upstreams`]), and returns values ready to show,
//! or one error type, [`crate::error::GatewayError`]. The handlers stay thin: they parse
//! their input, call an action, and render HTML or serialize JSON. No handler builds a
//! gRPC request or touches a client; a test below keeps it so.
//!
//! - [`browse`]: the home page's content, listings, search, a product, recommendations,
//!   priced in the shopper's currency through [`catalog`];
//! - [`cart`]: the cart, priced, and its changes; the guest cart merged at log-in;
//! - [`orders`]: checkout, an order (with what is known of its confirmation), the history;
//! - [`account`]: sessions at identity: guest, sign-up, log-in, renewal, log-out, and
//!   verifying an access token;
//! - [`currency`]: the currencies on offer and the one a shopper's prices are in;
//! - [`shelves`]: what every shopper sees alike (categories, pages of products, best
//!   sellers), kept for a couple of seconds so that page views do not each ask for it;
//! - [`health`]: every service's health, for the status page and the checkout.
//!
//! The type of a result says whether its service is needed: a `Result` fails the request
//! (the page or the API decides how to show it), an `Option` or a flag is an optional
//! feature left out when its service is down. Calls that do not depend on each other run
//! concurrently; each has a deadline ([`crate::upstreams::call`]).

pub mod account;
pub mod browse;
pub mod cart;
pub mod catalog;
pub mod currency;
pub mod health;
pub mod orders;
pub mod shelves;

use bazaar_contract::values::calendar::civil_from_days;

/// Seconds since the Unix epoch as "YYYY-MM-DD HH:MM UTC".
pub fn format_time(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn times_are_written_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_time(1_767_225_599), "2025-12-31 23:59 UTC");
    }

    fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// Where the gateway's clients may be used: where they are made ([`crate::upstreams`],
    /// [`crate::app`], `lib.rs`), the currency cache ([`crate::money`]) and this layer.
    fn may_call(path: &Path) -> bool {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let relative = path.strip_prefix(&src).expect("a file under src/");
        relative.starts_with("shop")
            || ["lib.rs", "app.rs", "upstreams.rs", "money.rs"]
                .iter()
                .any(|allowed| relative == Path::new(allowed))
    }

    #[test]
    fn only_the_service_layer_calls_the_services() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 10, "the sources are found: {files:?}");
        let mut found = Vec::new();
        for file in files.iter().filter(|f| !may_call(f)) {
            let text = std::fs::read_to_string(file).expect("a source file is readable");
            for needle in [".upstreams", "upstreams::", "_client::", "tonic::Request"] {
                if text.contains(needle) {
                    found.push(format!("{} uses `{needle}`", file.display()));
                }
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
