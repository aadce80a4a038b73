//! `bazaar rollout` against a real `bazaar up --config deploy/local/bazaar.toml` (two
//! replicas of catalog and of orders): every service its own process on 127.0.0.17 (so
//! that other shops on the machine keep their ports), with TLS and a temporary data
//! directory. While `bazaar load` shops through the storefront (the shopper
//! mix, checkouts included), every service is rolled out in turn; the load run must see
//! no failed request and the checkout invariants must hold. A new version that never
//! answers SERVING is rolled back, and the old one keeps serving. inventory is scaled from one
//! replica to three under the same load (the third gets calls) and back.
//!
//! With `BAZAAR_TEST_PYTHON` set to a Python that has the Python currency service installed
//! (`.ci/run` sets it once its environment exists), currency is also swapped, under the
//! same load, for the Python implementation, then for a build one contract version ahead
//! (`alt/currency-python/tests/newer_build.py`: its answers carry a field today's contract
//! does not have, which every caller, on today's generated code, must skip), and back to
//! the Rust one: the contract is all the other services depend on. Without it, that part
//! says it was skipped. Last the gateway itself is rolled out, under the load that goes
//! through it: the new one takes over the storefront's port beside the old one.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use chassis::tls::Tls;

mod common;

use common::{Up, bazaar};

const HOST: &str = "127.0.0.17";
/// The variable that names a Python with the Python currency service installed.
const PYTHON: &str = "BAZAAR_TEST_PYTHON";

/// Whether currency answers a `Convert`.
async fn currency_answers(tls: &Tls) -> bool {
    let Ok(channel) = tls
        .endpoint(&format!("{HOST}:{}", chassis::topology::CURRENCY.port))
        .expect("a valid address")
        .connect()
        .await
    else {
        return false;
    };
    let request = common::ten_euros_in_dollars();
    CurrencyServiceClient::new(channel)
        .convert(request)
        .await
        .is_ok()
}

/// The admin address of replica `replica` of `spec` on [`HOST`].
fn replica_admin(spec: &chassis::topology::Spec, replica: u16) -> String {
    format!("{HOST}:{}", spec.admin_port + 100 * replica)
}

/// The sum of the `metric` series a process's `/metrics` at `admin` shows, those whose
/// line contains `leave_out` aside; `None` when nothing answers there.
async fn metric_sum(admin: &str, metric: &str, leave_out: Option<&str>) -> Option<f64> {
    let (status, body) =
        chassis::scrape::fetch::get(admin, "/metrics", Duration::from_secs(2), 8 << 20)
            .await
            .ok()?;
    if status != 200 {
        return None;
    }
    let text = String::from_utf8_lossy(&body);
    let series = format!("{metric}{{");
    Some(
        text.lines()
            .filter(|line| line.starts_with(&series))
            .filter(|line| leave_out.is_none_or(|left| !line.contains(left)))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// The calls a replica has answered (health checks aside); `None` when it does not run.
async fn calls_served(admin: &str) -> Option<f64> {
    metric_sum(admin, "grpc_server_handled_total", Some("grpc.health.v1")).await
}

/// The storefront requests a gateway has answered; `None` when it does not run.
async fn requests_served(admin: &str) -> Option<f64> {
    metric_sum(admin, "http_requests_total", None).await
}

/// Waits until `served` counts one answer at least, for at most 30 s, or fails with
/// `never`.
async fn until_served<F, Served>(served: F, never: &str)
where
    F: Fn() -> Served,
    Served: std::future::Future<Output = Option<f64>>,
{
    let patience = Instant::now();
    while served().await.unwrap_or(0.0) < 1.0 {
        assert!(patience.elapsed() < Duration::from_secs(30), "{never}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Rolls `service` out (to `command`, if given) and checks that it said so.
async fn roll_out(data: &Path, service: &str, command: Option<&str>) -> Duration {
    let began = Instant::now();
    let mut args = vec!["rollout", service];
    if let Some(command) = command {
        args.extend(["--command", command]);
    }
    let (ok, out, err) = bazaar(data, &args).await;
    assert!(ok, "the rollout of {service} failed: {out}{err}");
    assert!(
        out.contains(&format!("{service} rolled out")),
        "{service}: {out}"
    );
    began.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_rolls_out_under_load_without_a_failed_request() {
    let data = tempfile::tempdir().unwrap();
    // The shape shipped for one machine (two catalogs, two orders), on this test's host:
    // the flag wins over the file's.
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/local/bazaar.toml"
    );
    let up = Up::start(
        data.path(),
        &["--config", config, "--host", HOST],
        &[("BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND", "0")],
        "all 13 processes up",
    )
    .await;
    let tls = Tls::client(&data.path().join("pki/ca.crt"), None).expect("the shop's CA");
    assert!(currency_answers(&tls).await);

    // Shoppers through the storefront for as long as the rollouts take.
    let python = std::env::var(PYTHON).ok();
    let seconds = if python.is_some() { 115 } else { 90 };
    let load = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["load", "--host", HOST, "--gateway"])
        .arg(format!("http://{HOST}:{}", chassis::topology::GATEWAY.port))
        .args(["--shoppers", "4", "--duration"])
        .arg(format!("{seconds}s"))
        .args(["--json", "--check", "--data-dir"])
        .arg(data.path())
        .env_remove("BAZAAR_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bazaar load starts");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut took = Vec::new();
    for spec in chassis::topology::grpc_services() {
        took.push((spec.name, roll_out(data.path(), spec.name, None).await));
    }
    match &python {
        Some(python) => {
            let current = format!("{python} -m bazaar_currency");
            let to_python = roll_out(data.path(), "currency", Some(&current)).await;
            assert!(currency_answers(&tls).await, "the Python currency answers");
            let newer = format!(
                "{python} {}/../../alt/currency-python/tests/newer_build.py",
                env!("CARGO_MANIFEST_DIR")
            );
            roll_out(data.path(), "currency", Some(&newer)).await;
            assert!(
                currency_answers(&tls).await,
                "today's generated code reads the newer build's answers"
            );
            let back = roll_out(data.path(), "currency", None).await;
            println!(
                "currency swapped to Python in {:.1}s, to a newer contract's build, and back \
                 to Rust in {:.1}s",
                to_python.as_secs_f64(),
                back.as_secs_f64()
            );
        }
        None => eprintln!(
            "SKIPPED the swap to the Python currency and to a newer build: set {PYTHON} to a \
             Python with bazaar_currency installed"
        ),
    }
    // Then the storefront, which the load runs through: the new gateway shares its port
    // and takes over before the old one stops accepting.
    let gateway_admin = replica_admin(&chassis::topology::GATEWAY, 0);
    let served_before = requests_served(&gateway_admin)
        .await
        .expect("the gateway's metrics");
    took.push(("gateway", roll_out(data.path(), "gateway", None).await));
    until_served(
        || requests_served(&gateway_admin),
        "the new gateway never answered a request",
    )
    .await;
    assert!(served_before > 0.0, "the old gateway answered the load");
    let total: Duration = took.iter().map(|(_, took)| *took).sum();
    println!(
        "rollouts: {took:?}; every service in {:.1}s",
        total.as_secs_f64()
    );

    // Scaling under the same load: inventory from one replica to three, and back.
    let third = replica_admin(&chassis::topology::INVENTORY, 2);
    assert_eq!(
        calls_served(&third).await,
        None,
        "no third inventory replica yet"
    );
    let began = Instant::now();
    let (ok, out, err) = bazaar(data.path(), &["scale", "inventory=3"]).await;
    assert!(ok, "{out}{err}");
    let up_to_three = began.elapsed();
    until_served(
        || calls_served(&third),
        "the third inventory replica never got a call",
    )
    .await;
    let began = Instant::now();
    let (ok, out, err) = bazaar(data.path(), &["scale", "inventory=1"]).await;
    assert!(ok, "{out}{err}");
    println!(
        "inventory scaled from 1 to 3 replicas in {:.1}s, back to 1 in {:.1}s",
        up_to_three.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    assert_eq!(
        calls_served(&third).await,
        None,
        "the third replica is gone"
    );

    let output = load.wait_with_output().await.expect("bazaar load ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bazaar load failed: {stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints one JSON object");
    for row in report["operations"].as_array().unwrap() {
        assert!(row["count"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(
            row["errors"],
            serde_json::json!({}),
            "a request failed: {row}"
        );
    }
    assert!(report["orders_acknowledged"].as_u64().unwrap() > 0);
    let check = &report["check"];
    assert_eq!(check["violations"], serde_json::json!([]), "{check}");
    assert_eq!(check["pending"], 0, "{check}");

    // A new version that never answers SERVING is rolled back; the old one serves on.
    let (ok, out, err) = bazaar(
        data.path(),
        &[
            "rollout",
            "currency",
            "--command",
            "sleep 600",
            "--ready-timeout",
            "3s",
        ],
    )
    .await;
    assert!(!ok, "a version that never becomes ready is not rolled out");
    assert!(err.contains("rolled back"), "{out}{err}");
    assert!(out.contains("did not answer SERVING"), "{out}");
    assert!(
        currency_answers(&tls).await,
        "the old currency still answers"
    );
    let (ok, _, err) = bazaar(data.path(), &["scale", "gateway=2"]).await;
    assert!(!ok && err.contains("gateway runs once"), "{err}");
    let (ok, _, err) = bazaar(data.path(), &["rollout", "nosuch"]).await;
    assert!(!ok && err.contains("unknown service"), "{err}");

    up.stop().await;
}
