//! An upstream whose replicas change while it is used (`chassis::discovery`): a registry file
//! rewritten under it, and a name looked up in DNS; through real gRPC on real sockets with
//! the test PKI, counting what each probe server saw. Timeouts are safety nets; waits are
//! for an outcome, never a measurement.

mod common;
#[path = "../src/testing/metrics.rs"]
#[allow(unreachable_pub, dead_code)]
mod metrics_page;
mod scrape {
    pub(crate) use chassis::scrape::*;
}

use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use chassis::client::{Upstream, UpstreamError};
use chassis::discovery::{REGISTRY_POLL, Registry};
use common::{PATIENCE, Running, call, client_tls, start};
use metrics_page::Scrape;

fn registry_of(callee: &str, replicas: &[&Running]) -> Registry {
    let mut registry = Registry::default();
    registry.services.insert(
        callee.to_owned(),
        replicas.iter().map(|r| r.address.to_string()).collect(),
    );
    registry
        .services
        .insert("someone-else".to_owned(), vec!["127.0.0.1:9".to_owned()]);
    registry
}

fn replicas_gauge(callee: &str) -> f64 {
    Scrape::parse(&chassis::metrics::render())
        .value("bazaar_client_replicas", &[("callee", callee)])
}

/// Calls until `replica` has seen a call, for at most [`PATIENCE`].
async fn until_called(client: &mut RecommendationServiceClient<Upstream>, replica: &Running) {
    let began = tokio::time::Instant::now();
    while replica.seen().is_empty() {
        assert!(
            began.elapsed() < PATIENCE,
            "{} never got a call",
            replica.address
        );
        client
            .list_recommendations(call(&[]))
            .await
            .expect("a call succeeds while replicas come and go");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn replicas_follow_the_registry_file_while_calls_go_on() {
    let callee = "discovery-registry";
    chassis::metrics::install();
    let first = start().await;
    let second = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.json");
    registry_of(callee, &[&first]).write(&path).unwrap();

    let upstream = Upstream::connect(
        callee,
        &[format!("registry:{}", path.display())],
        Duration::from_secs(5),
        &client_tls(Some("orders")),
    )
    .expect("a registry entry is valid");
    let mut client = RecommendationServiceClient::new(upstream);
    for _ in 0..20 {
        client.list_recommendations(call(&[])).await.unwrap();
    }
    assert_eq!(
        first.seen().len(),
        20,
        "the only listed replica got every call"
    );
    assert!(second.seen().is_empty(), "an unlisted server got none");
    assert_eq!(replicas_gauge(callee), 1.0);

    // A second replica is listed: it starts getting calls, without a new upstream.
    registry_of(callee, &[&first, &second])
        .write(&path)
        .unwrap();
    until_called(&mut client, &second).await;
    assert_eq!(replicas_gauge(callee), 2.0);

    // The first one leaves the list (it still runs): once the change is read, it gets
    // nothing more.
    registry_of(callee, &[&second]).write(&path).unwrap();
    tokio::time::sleep(REGISTRY_POLL * 5).await;
    let before = first.seen().len();
    for _ in 0..30 {
        client.list_recommendations(call(&[])).await.unwrap();
    }
    assert_eq!(
        first.seen().len(),
        before,
        "a replica that left the registry got new calls"
    );
    assert_eq!(replicas_gauge(callee), 1.0);

    // A broken registry (half written by someone else) keeps the replicas there were.
    std::fs::write(&path, b"{\"services\": ").unwrap();
    tokio::time::sleep(REGISTRY_POLL * 3).await;
    client
        .list_recommendations(call(&[]))
        .await
        .expect("the last replicas are kept");
    assert_eq!(replicas_gauge(callee), 1.0);
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_name_in_dns_is_dialled_at_its_address_and_checked_against_the_name() {
    let callee = "discovery-dns";
    chassis::metrics::install();
    let server = start().await;
    // The test certificates name localhost; the replica is dialled at what localhost
    // resolves to, and TLS checks the certificate against "localhost", not the IP.
    let upstream = Upstream::connect(
        callee,
        &[format!("dns:///localhost:{}", server.address.port())],
        Duration::from_secs(5),
        &client_tls(Some("orders")),
    )
    .expect("a dns entry is valid");
    let mut client = RecommendationServiceClient::new(upstream);
    client
        .list_recommendations(call(&[]))
        .await
        .expect("the name resolves and the certificate names it");
    assert!(!server.seen().is_empty());
    assert!(replicas_gauge(callee) >= 1.0);

    // The name is what TLS checks: at the same address, a name the certificate does not
    // carry is refused.
    let tls = client_tls(Some("orders"));
    let address = server.address.to_string();
    for (name, accepted) in [("localhost", true), ("not-in-the-certificate.test", false)] {
        let endpoint = tls.endpoint_named(&address, Some(name)).unwrap();
        let connected = tokio::time::timeout(PATIENCE, endpoint.connect())
            .await
            .expect("a TLS handshake ends (safety net)");
        assert_eq!(connected.is_ok(), accepted, "{name}: {connected:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn entries_that_cannot_name_a_replica_are_refused_at_once() {
    let tls = client_tls(Some("orders"));
    for entry in ["dns:///no-port", "registry:", "dns://8.8.8.8/catalog:1"] {
        let result = Upstream::connect("discovery-bad", &[entry.to_owned()], PATIENCE, &tls);
        assert!(
            matches!(result, Err(UpstreamError::BadEntry { .. })),
            "{entry}: {result:?}"
        );
    }
}
