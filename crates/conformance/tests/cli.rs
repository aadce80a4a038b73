//! The binary's contract with scripts and CI: it prints each check, exits 0 when a service
//! conforms, 1 when a check fails, and 2 on a wrong command line.

use std::process::{Command, Output};

use bazaar_testkit::Shop;

/// Runs the kit with `--plaintext`: the test shop speaks plaintext gRPC (tests/tls.rs
/// covers TLS).
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bazaar-conformance"))
        .args(args)
        .arg("--plaintext")
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_the_verdicts() {
    let shop = Shop::builder("conformance cli")
        .plaintext()
        .start()
        .await
        .expect("SQLite needs no setup");
    let identity = shop.addr("identity").to_string();
    let catalog = shop.addr("catalog").to_string();

    // A conforming service: every check passes, exit 0.
    let cart = shop.addr("cart").to_string();
    let conforming = tokio::task::spawn_blocking({
        let identity = identity.clone();
        move || run(&["cart", "--addr", &cart, "--identity-addr", &identity])
    })
    .await
    .expect("the run finishes");
    let out = text(&conforming);
    assert_eq!(conforming.status.code(), Some(0), "{out}");
    assert!(
        out.contains("cart: every RPC without a token") && out.contains("passed"),
        "{out}"
    );
    assert!(out.contains("0 failed, 0 skipped"), "{out}");

    // The wrong service at the address: checks fail, exit 1.
    let wrong = tokio::task::spawn_blocking(move || run(&["currency", "--addr", &catalog]))
        .await
        .expect("the run finishes");
    let out = text(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{out}");
    assert!(out.contains("FAILED"), "{out}");

    // Without identity, the cart checks that need tokens are skipped, not failed.
    let cart = shop.addr("cart").to_string();
    let alone = tokio::task::spawn_blocking(move || run(&["cart", "--addr", &cart]))
        .await
        .expect("the run finishes");
    let out = text(&alone);
    assert_eq!(alone.status.code(), Some(0), "{out}");
    assert!(out.contains("skipped (needs --identity-addr)"), "{out}");

    // A service the kit does not know: exit 2.
    let unknown = run(&["warehouse", "--addr", "127.0.0.1:1"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));

    shop.shutdown().await;
}
