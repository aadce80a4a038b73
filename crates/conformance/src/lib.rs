//! The conformance kit: for each bazaar service, a black-box suite of checks that talks to
//! one address through the contract only and verifies what the contract's comments
//! promise: happy paths, validation and its field violations, status codes and error
//! details, idempotency on `request_id`, pagination (default and maximum page sizes, bad
//! and mismatched page tokens), and who may see what (missing or forged tokens, other
//! callers' resources).
//!
//! Any implementation of a service, in any language, can be checked: start it, point
//! `bazaar-conformance <service> --addr HOST:PORT` at it, and read which promises hold.
//! The kit speaks TLS, trusting the shop's CA, unless told `--plaintext` ([`Transport`]).
//! Some checks need neighbours (cart needs identity's tokens; a checkout needs the whole
//! shop); their addresses are flags, and a check whose neighbour was not given is skipped,
//! saying which flag it needs.
//!
//! Checks never assume an empty store: they use fresh ids, emails and request ids, and
//! discover seed data through the list calls, so the kit also runs against a live shop.
//! What it must never do: depend on a service's internals, or on data the contract does
//! not promise.
#![forbid(unsafe_code)]

pub mod check;
pub mod pages;
pub mod shopper;
pub mod suites;
pub mod target;

pub use check::{Outcome, Runner, Verdict};
pub use target::{Admin, Target, Transport, connect};

/// The identity whose client certificate the kit shows `service`: the service the access
/// table lets call its service-only RPCs (`bazaar_contract::access::trusted_caller`: orders
/// for payment's `Charge`), else `operator`. The suites call those RPCs as that caller would.
pub fn caller_of(service: &str) -> &'static str {
    bazaar_contract::access::trusted_caller(service).unwrap_or("operator")
}

/// The services the kit has a suite for.
pub const SERVICES: &[&str] = &[
    "catalog",
    "currency",
    "identity",
    "cart",
    "inventory",
    "payment",
    "shipping",
    "orders",
    "notification",
    "recommendation",
];

/// The neighbours each service's suite uses when it is given their addresses.
pub fn neighbours(service: &str) -> &'static [&'static str] {
    match service {
        "cart" | "inventory" => &["identity"],
        "orders" => &[
            "identity",
            "cart",
            "catalog",
            "inventory",
            "currency",
            "shipping",
        ],
        "notification" => &["orders", "identity", "cart", "catalog", "inventory"],
        "recommendation" => &["catalog", "orders", "identity", "cart", "inventory"],
        _ => &[],
    }
}

/// Runs the suite of `target`'s service, reporting each outcome to `runner`'s observer.
pub async fn run(target: &Target, runner: &mut Runner<'_>) {
    match target.service() {
        "catalog" => suites::catalog::run(target, runner).await,
        "currency" => suites::currency::run(target, runner).await,
        "identity" => suites::identity::run(target, runner).await,
        "cart" => suites::cart::run(target, runner).await,
        "inventory" => suites::inventory::run(target, runner).await,
        "payment" => suites::payment::run(target, runner).await,
        "shipping" => suites::shipping::run(target, runner).await,
        "orders" => suites::orders::run(target, runner).await,
        "notification" => suites::notification::run(target, runner).await,
        "recommendation" => suites::recommendation::run(target, runner).await,
        other => {
            runner
                .check("the service is known to the kit", async move {
                    check::fail(format!("there is no suite for {other:?}"))
                })
                .await;
        }
    }
}

/// The `'static` name of `service`, if the kit has a suite for it.
pub fn service_name(service: &str) -> Option<&'static str> {
    SERVICES.iter().copied().find(|s| *s == service)
}
