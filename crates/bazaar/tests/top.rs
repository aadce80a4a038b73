//! `bazaar top --once` against the in-process test shop: the binary reads the admin
//! listeners from a `prometheus/targets.json` like the one `bazaar up` writes, scrapes
//! them twice and prints every service's figures.

use std::time::Duration;

use bazaar_testkit::Shop;

/// Counts calls as the chassis's server layer does (`grpc_server_*`), in this process's
/// recorder, which every admin listener of the in-process shop serves.
fn record_calls(grpc_service: &str, method: &str, code: &str, seconds: f64, calls: u64) {
    let labels = [
        ("grpc_type", "unary".to_owned()),
        ("grpc_service", grpc_service.to_owned()),
        ("grpc_method", method.to_owned()),
    ];
    let mut handled = labels.to_vec();
    handled.push(("grpc_code", code.to_owned()));
    metrics::counter!("grpc_server_handled_total", &handled).increment(calls);
    let latency = metrics::histogram!("grpc_server_handling_seconds", &labels);
    for _ in 0..calls {
        latency.record(seconds);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_once_prints_every_services_figures() {
    let shop = Shop::builder("bazaar_top_once")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("prometheus")).unwrap();
    let groups: Vec<String> = chassis::topology::grpc_services()
        .map(|spec| {
            format!(
                r#"{{"targets":["{}"],"labels":{{"service":"{}"}}}}"#,
                shop.admin_addr(spec.name),
                spec.name
            )
        })
        .collect();
    std::fs::write(
        data.path().join("prometheus/targets.json"),
        format!("[{}]", groups.join(",")),
    )
    .unwrap();

    let top = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["top", "--once", "--data-dir"])
        .arg(data.path())
        .kill_on_drop(true)
        .output();
    let traffic = async {
        loop {
            record_calls("bazaar.payment.v1.PaymentService", "Charge", "OK", 0.02, 3);
            record_calls(
                "bazaar.payment.v1.PaymentService",
                "Charge",
                "Unavailable",
                0.02,
                1,
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let output = tokio::select! {
        output = top => output.expect("bazaar top runs"),
        () = traffic => unreachable!("the traffic never ends"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains('\x1b'), "--once clears nothing");
    let line = |service: &str| {
        stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(service))
            .unwrap_or_else(|| panic!("no line for {service}"))
            .to_owned()
    };
    for spec in chassis::topology::grpc_services() {
        assert!(line(spec.name).contains("scraped"), "{}", line(spec.name));
    }
    // payment: calls a second, a quarter of them failing, 10–25 ms latency.
    let payment = line("payment");
    let columns: Vec<&str> = payment.split_whitespace().collect();
    let rate: f64 = columns[2].trim_end_matches("/s").parse().expect("a rate");
    assert!(rate > 0.0, "{payment}");
    let errors: f64 = columns[3].parse().expect("an error ratio");
    assert!((errors - 25.0).abs() < 0.1, "{payment}");
    assert!(payment.contains(" ms"), "{payment}");
    assert!(stdout.contains("orders a minute:"));
    assert!(stdout.contains("consumer lag (events):"));

    shop.shutdown().await;
}
