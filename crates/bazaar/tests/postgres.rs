//! `bazaar up --postgres URL` against the PostgreSQL server of `BAZAAR_TEST_POSTGRES_URL`:
//! every SQL service gets a database of its own there (`bazaar_<service>`), and the shop
//! works on them: `bazaar load` shops over gRPC, nothing fails, and the checkout invariants
//! hold. Services run on 127.0.0.18 so that other shops on the machine keep their ports.
//! Skipped, and said so, without the variable.
//!
//! The databases are dropped first, so a run starts from an empty shop: point the variable
//! at a server meant for tests.

mod common;

use chassis::store::testing::{POSTGRES_URL_VAR, skipped};
use common::Up;
use sqlx::Executor;

const HOST: &str = "127.0.0.18";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_gives_every_sql_service_a_postgres_database_of_its_own() {
    let Ok(server) = std::env::var(POSTGRES_URL_VAR) else {
        skipped("bazaar up --postgres", POSTGRES_URL_VAR, "PostgreSQL");
        return;
    };
    let sql: Vec<&str> = chassis::topology::SERVICES
        .iter()
        .filter(|spec| spec.sql)
        .map(|spec| spec.name)
        .collect();
    let admin = chassis::store::connect(&server)
        .await
        .expect("the test server");
    for service in &sql {
        admin
            .execute(format!("DROP DATABASE IF EXISTS bazaar_{service} WITH (FORCE)").as_str())
            .await
            .expect("a left-over database is dropped");
    }

    let data = tempfile::tempdir().unwrap();
    let up = Up::start(
        data.path(),
        &["--postgres", &server, "--host", HOST],
        &[],
        "all 11 services up",
    )
    .await;
    for service in &sql {
        let found = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(format!("bazaar_{service}"))
            .fetch_optional(&admin)
            .await
            .expect("pg_database is readable");
        assert!(found.is_some(), "{service} has no database of its own");
    }
    let log = std::fs::read_to_string(data.path().join("logs/orders.log")).unwrap();
    assert!(
        log.contains("bazaar_orders"),
        "orders stores in its database"
    );

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args([
            "load",
            "--host",
            HOST,
            "--shoppers",
            "2",
            "--duration",
            "5s",
        ])
        .args(["--json", "--check", "--data-dir"])
        .arg(data.path())
        .env_remove("BAZAAR_DATA_DIR")
        .output()
        .await
        .expect("bazaar load runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bazaar load failed: {stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints one JSON object");
    for row in report["operations"].as_array().unwrap() {
        assert_eq!(row["errors"], serde_json::json!({}), "{row}");
    }
    assert!(
        report["orders_acknowledged"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(report["check"]["violations"], serde_json::json!([]));
    up.stop().await;
    admin.close().await;
}
