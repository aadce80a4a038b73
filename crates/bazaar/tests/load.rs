//! `bazaar load`, the binary, against the whole shop in process (bazaar-testkit) on free
//! ports: it finds the services by `BAZAAR_<NAME>_ADDR` and verifies them, and adds
//! stock as the operator, with the test PKI, which a data directory of its own links to.
//! Open loop, closed loop and through the storefront's JSON API; every operation of the
//! mix counted, none failed, the checkouts settled and checked. And flags that do not make
//! a run are refused with a clear error before anything is called.

use std::path::Path;
use std::process::Output;

use bazaar_testkit::Shop;
use chassis::Shutdown;

const OPERATIONS: [&str; 6] = ["browse", "search", "product", "cart", "checkout", "history"];
/// Every operation as often as the others, so that a short run does them all.
const FLAT_MIX: &str = "browse=1,search=1,product=1,cart=1,checkout=1,history=1";

/// A data directory whose `pki/` is the test PKI the shop runs with.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(chassis::pki::for_tests().dir(), dir.path().join("pki")).unwrap();
    dir
}

/// Runs `bazaar load` with `args` against `shop`.
async fn load(shop: &Shop, data: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"));
    command
        .arg("load")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .kill_on_drop(true);
    for spec in chassis::topology::grpc_services() {
        command.env(
            format!("BAZAAR_{}_ADDR", spec.name.to_uppercase()),
            shop.addr(spec.name).to_string(),
        );
    }
    let output = command.output().await.expect("bazaar load runs");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The JSON report of a run that succeeded.
fn report(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// Every operation of the mix ran, and nothing failed.
fn assert_every_operation_ran_without_error(report: &serde_json::Value) {
    let rows = report["operations"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, OPERATIONS);
    for row in rows {
        assert!(row["count"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["errors"], serde_json::json!({}), "{row}");
        let (p50, p999) = (
            row["p50_ms"].as_f64().unwrap(),
            row["p999_ms"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p999, "{row}");
    }
    assert!(report["orders_acknowledged"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_runs_open_and_closed_loops_and_checks_the_checkouts() {
    let shop = Shop::builder("bazaar_load")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let data = data_dir();

    // Closed loop: four shoppers for two seconds, then the invariant check.
    let closed = report(
        &load(
            &shop,
            data.path(),
            &[
                "--shoppers",
                "4",
                "--duration",
                "2s",
                "--mix",
                FLAT_MIX,
                "--seed",
                "7",
                "--json",
                "--check",
            ],
        )
        .await,
    );
    assert_every_operation_ran_without_error(&closed);
    assert_eq!(closed["duration_s"], 2.0);
    let check = &closed["check"];
    assert_eq!(check["violations"], serde_json::json!([]), "{check}");
    assert_eq!(check["orders"], closed["orders_acknowledged"]);
    assert_eq!(check["pending"], 0);

    // Open loop: 60 arrivals a second for two seconds is exactly 120 operations, whatever
    // the shop's speed.
    let open = report(
        &load(
            &shop,
            data.path(),
            &[
                "--rate",
                "60",
                "--duration",
                "2s",
                "--mix",
                FLAT_MIX,
                "--json",
            ],
        )
        .await,
    );
    assert_every_operation_ran_without_error(&open);
    assert_eq!(open["total"]["count"], 120);
    assert!(open["check"].is_null());

    // Stages: a step and a ramp, 10 + 15 arrivals.
    let staged = report(
        &load(
            &shop,
            data.path(),
            &[
                "--rate",
                "--stages",
                "1s@10,1s@10..20",
                "--mix",
                "browse=1",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(staged["total"]["count"], 25);
    assert_eq!(staged["operations"].as_array().unwrap().len(), 1);

    // The table, for people.
    let table = load(
        &shop,
        data.path(),
        &["--shoppers", "2", "--duration", "1s", "--mix", "product=1"],
    )
    .await;
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("OPERATION"), "{text}");
    assert!(text.contains("\nproduct "), "{text}");
    assert!(text.contains("\ntotal "), "{text}");

    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_goes_through_the_storefront_json_api() {
    let shop = Shop::builder("bazaar_load_http")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let mut config = gateway::Config::for_tests(shop.data_dir().join("gateway"), |name| {
        shop.addr(name).to_string()
    });
    // One client address makes every request: the per-client limit would refuse most.
    config.rate_limit_per_second = 0;
    let gateway = gateway::Gateway::bind(&config)
        .await
        .expect("the gateway binds port 0");
    let url = format!("http://{}", gateway.local_addr());
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move { gateway.run(stop).await });
    let data = data_dir();

    let output = load(
        &shop,
        data.path(),
        &[
            "--gateway",
            &url,
            "--shoppers",
            "4",
            "--duration",
            "3s",
            "--mix",
            FLAT_MIX,
            "--json",
            "--check",
        ],
    )
    .await;
    let through_http = report(&output);
    assert_every_operation_ran_without_error(&through_http);
    assert_eq!(
        through_http["check"]["violations"],
        serde_json::json!([]),
        "{through_http}"
    );

    shutdown.trigger();
    let _ = task.await;
    shop.shutdown().await;
}

#[tokio::test]
async fn flags_that_make_no_run_are_refused_before_anything_is_called() {
    for (args, says) in [
        (&["--mix", "shop=1"][..], "unknown operation \"shop\""),
        (&["--rate", "5", "--shoppers", "5"], "cannot be used with"),
        (&["--rate", "5", "--stages", "10s@5"], "without a value"),
        (&["--rate", "0"], "above 0"),
        (&["--stages", "10s"], "is not DURATION@LEVEL"),
        (&["--duration", "soon"], "not a duration"),
        (&["--gateway", "shop:8080"], "not a URL"),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
            .arg("load")
            .args(args)
            // Nothing listens there: a run that started would fail differently.
            .args(["--host", "127.0.0.1", "--data-dir", "/nonexistent"])
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} ran");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
